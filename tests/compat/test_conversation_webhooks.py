"""Conversation-scoped webhooks (`/v1/Conversations/{CH}/Webhooks`) through the official client."""

import json

import pytest
from twilio.base.exceptions import TwilioException

from helpers import assert_date, assert_sid, expect_error

FLOW = "FW" + "0123456789abcdef" * 2


def assert_list_not_found(webhooks):
    """List calls raise a plain TwilioException carrying the response (no code parsing)."""
    with pytest.raises(TwilioException) as listing:
        webhooks.list()
    response = listing.value.args[1]
    assert response.status_code == 404
    assert json.loads(response.text)["code"] == 20404


def test_scoped_webhook_crud(conversations):
    conv = conversations.conversations.create(friendly_name="hooked")
    hooks = conversations.conversations(conv.sid).webhooks
    try:
        created = hooks.create(
            target="webhook",
            configuration_url="https://example.com/hook",
            configuration_filters=["onMessageAdded"],
            configuration_method="POST",
        )
        assert_sid(created.sid, "WH")
        assert created.conversation_sid == conv.sid
        assert created.target == "webhook"
        assert created.configuration == {
            "url": "https://example.com/hook",
            "method": "POST",
            "filters": ["onMessageAdded"],
        }
        assert created.url.endswith(f"/Conversations/{conv.sid}/Webhooks/{created.sid}")
        assert_date(created.date_created)

        fetched = hooks(created.sid).fetch()
        assert fetched.sid == created.sid
        assert fetched.configuration["filters"] == ["onMessageAdded"]

        updated = hooks(created.sid).update(
            configuration_method="GET",
            configuration_filters=["onMessageAdded", "onParticipantRemoved"],
        )
        assert updated.configuration["method"] == "GET"
        assert updated.configuration["filters"] == ["onMessageAdded", "onParticipantRemoved"]
        assert updated.configuration["url"] == "https://example.com/hook"

        trigger = hooks.create(
            target="trigger",
            configuration_url="https://example.com/trigger",
            configuration_triggers=["help", "agent"],
        )
        assert trigger.configuration["filters"] == ["help", "agent"]
        assert trigger.configuration["triggers"] == ["help", "agent"]
        assert trigger.configuration["method"] == "POST"

        studio = hooks.create(target="studio", configuration_flow_sid=FLOW)
        assert studio.configuration == {"flow_sid": FLOW}

        listed = list(hooks.list(page_size=2))
        assert [h.sid for h in listed] == [created.sid, trigger.sid, studio.sid]

        assert hooks(created.sid).delete() is True
        with expect_error(404, 20404):
            hooks(created.sid).fetch()
        assert len(list(hooks.list())) == 2
    finally:
        conversations.conversations(conv.sid).delete()
    assert_list_not_found(hooks)


def test_scoped_webhook_validation_and_limit(conversations):
    conv = conversations.conversations.create()
    hooks = conversations.conversations(conv.sid).webhooks
    try:
        with expect_error(400, 20001):
            hooks.create(target="webhook")
        with expect_error(400, 20001):
            hooks.create(
                target="webhook",
                configuration_url="https://example.com/",
                configuration_filters=["onMessageAdd"],
            )
        with expect_error(400, 20001):
            hooks.create(target="studio")
        for i in range(5):
            hooks.create(target="webhook", configuration_url=f"https://example.com/{i}")
        with expect_error(409, 20409):
            hooks.create(target="webhook", configuration_url="https://example.com/6")
    finally:
        conversations.conversations(conv.sid).delete()


def test_scoped_webhook_in_a_service(conversations, uid):
    svc = conversations.services.create(friendly_name=f"scoped-hooks-{uid}")
    try:
        conv = conversations.services(svc.sid).conversations.create()
        hooks = conversations.services(svc.sid).conversations(conv.sid).webhooks
        created = hooks.create(
            target="webhook",
            configuration_url="https://example.com/svc",
            configuration_filters=["onConversationUpdated"],
        )
        assert created.chat_service_sid == svc.sid
        assert hooks(created.sid).fetch().configuration["url"] == "https://example.com/svc"
        assert_list_not_found(conversations.conversations(conv.sid).webhooks)
    finally:
        conversations.services(svc.sid).delete()


def test_scoped_webhook_of_another_account_is_not_found(conversations, subaccount):
    conv = conversations.conversations.create()
    try:
        _, other = subaccount
        with expect_error(404, 20404):
            other.conversations.v1.conversations(conv.sid).webhooks.create(
                target="webhook", configuration_url="https://example.com/"
            )
    finally:
        conversations.conversations(conv.sid).delete()
