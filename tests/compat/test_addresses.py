"""Address Configurations and webhook configuration (global and per service) through the official client."""

import uuid

from helpers import assert_sid, expect_error


def test_address_configuration_crud(conversations):
    number = "+1555" + str(uuid.uuid4().int)[:7]
    created = conversations.address_configurations.create(
        type="sms",
        address=number,
        friendly_name="Support line",
        auto_creation_enabled=True,
        auto_creation_type="webhook",
        auto_creation_webhook_url="https://example.com/hook",
        auto_creation_webhook_method="POST",
        auto_creation_webhook_filters=["onMessageAdded"],
    )
    assert_sid(created.sid, "IG")
    assert created.type == "sms"
    assert created.address == number
    assert created.auto_creation["enabled"] is True
    assert created.auto_creation["type"] == "webhook"
    assert created.auto_creation["webhook_filters"] == ["onMessageAdded"]

    # The address is an alternate key.
    fetched = conversations.address_configurations(number).fetch()
    assert fetched.sid == created.sid

    updated = conversations.address_configurations(created.sid).update(
        friendly_name="Billing line", auto_creation_enabled=False
    )
    assert updated.friendly_name == "Billing line"
    assert updated.auto_creation["enabled"] is False

    sms = list(conversations.address_configurations.list(type="sms"))
    assert created.sid in [a.sid for a in sms]
    chats = list(conversations.address_configurations.list(type="chat"))
    assert "webchat" in [a.address for a in chats], "created on first start"

    assert conversations.address_configurations(created.sid).delete() is True
    with expect_error(404, 20404):
        conversations.address_configurations(created.sid).fetch()


def test_bad_address_configuration_is_a_twilio_error(conversations):
    with expect_error(400, 20001):
        conversations.address_configurations.create(type="fax", address="+15550000000")


def test_webhook_configuration_global_and_service(conversations, uid):
    hooks = conversations.configuration.webhooks().update(
        method="POST",
        filters=["onMessageAdded", "onConversationStateUpdated"],
        post_webhook_url="https://example.com/post",
        target="webhook",
    )
    assert hooks.filters == ["onMessageAdded", "onConversationStateUpdated"]
    assert hooks.post_webhook_url == "https://example.com/post"
    assert conversations.configuration.webhooks().fetch().method == "POST"

    svc = conversations.services.create(friendly_name=f"hooks-{uid}")
    try:
        svc_hooks = conversations.services(svc.sid).configuration.webhooks().update(
            pre_webhook_url="https://example.com/pre", filters=["onMessageAdd"]
        )
        assert svc_hooks.chat_service_sid == svc.sid
        assert svc_hooks.pre_webhook_url == "https://example.com/pre"
        fetched = conversations.services(svc.sid).configuration.webhooks().fetch()
        assert fetched.filters == ["onMessageAdd"]
    finally:
        conversations.services(svc.sid).delete()
