"""Conversations and ConversationWithParticipants, through the official library only."""

import json
import time

import pytest

from helpers import assert_date, assert_sid, expect_error, phone, same_json


@pytest.fixture
def service(conversations, uid):
    """A fresh Conversation Service, so list assertions see only this test's data."""
    svc = conversations.services.create(friendly_name=f"compat-{uid}")
    yield svc
    conversations.services(svc.sid).delete()


def test_create_fetch_update_delete(server, conversations, uid):
    default_service = conversations.configuration().fetch().default_chat_service_sid
    conv = conversations.conversations.create(
        friendly_name="Support chat",
        unique_name=f"support-{uid}",
        attributes=json.dumps({"topic": "feedback", "n": 1}),
    )
    assert_sid(conv.sid, "CH")
    assert conv.account_sid == server.account_sid
    assert conv.chat_service_sid == default_service
    assert conv.friendly_name == "Support chat"
    assert conv.unique_name == f"support-{uid}"
    same_json(conv.attributes, {"topic": "feedback", "n": 1})
    assert conv.state == "active"
    assert_date(conv.date_created)
    assert_date(conv.date_updated)
    assert isinstance(conv.timers, dict)
    assert conv.url.endswith(f"/Conversations/{conv.sid}")
    assert set(conv.links) >= {"participants", "messages", "webhooks"}

    by_sid = conversations.conversations(conv.sid).fetch()
    by_name = conversations.conversations(f"support-{uid}").fetch()
    assert by_sid.sid == by_name.sid == conv.sid
    assert by_name.friendly_name == "Support chat"
    assert by_sid.date_created == conv.date_created

    updated = conversations.conversations(conv.sid).update(
        friendly_name="Renamed", attributes=json.dumps({"topic": "sales"})
    )
    assert updated.friendly_name == "Renamed"
    same_json(updated.attributes, {"topic": "sales"})
    assert updated.unique_name == f"support-{uid}"
    assert_date(updated.date_updated)
    assert updated.date_updated >= conv.date_updated

    inactive = conversations.conversations(conv.sid).update(state="inactive")
    assert inactive.state == "inactive"
    assert conversations.conversations(conv.sid).fetch().state == "inactive"
    active = conversations.conversations(conv.sid).update(state="active")
    assert active.state == "active"
    closed = conversations.conversations(conv.sid).update(state="closed")
    assert closed.state == "closed"
    assert conversations.conversations(conv.sid).fetch().state == "closed"

    assert conversations.conversations(conv.sid).delete() is True
    with expect_error(404, 20404):
        conversations.conversations(conv.sid).fetch()
    with expect_error(404, 20404):
        conversations.conversations(f"support-{uid}").fetch()


def test_attributes_default_to_empty_object(conversations):
    conv = conversations.conversations.create()
    same_json(conv.attributes, {})
    conversations.conversations(conv.sid).delete()


def test_unique_name_is_unique_within_the_service(conversations, uid):
    conversations.conversations.create(unique_name=f"dup-{uid}")
    with expect_error(409, 50353):
        conversations.conversations.create(unique_name=f"dup-{uid}")


def test_list_and_stream_across_pages(server, conversations, service):
    scoped = conversations.services(service.sid).conversations
    created = {scoped.create(friendly_name=f"c{i}").sid for i in range(7)}

    listed = scoped.list(page_size=2)
    sids = [c.sid for c in listed]
    assert len(sids) == 7, sids
    assert set(sids) == created
    for c in listed:
        assert_date(c.date_created)
        assert c.chat_service_sid == service.sid

    streamed = [c.sid for c in scoped.stream(page_size=2)]
    assert len(streamed) == 7 and set(streamed) == created

    limited = scoped.list(limit=5, page_size=2)
    assert len(limited) == 5 and len({c.sid for c in limited}) == 5

    first = scoped.page(page_size=2)
    assert len(list(first)) == 2
    assert first.next_page_url.startswith(server.base + "/conversations/v1/"), (
        first.next_page_url
    )
    pages, page = 1, first
    while page.next_page_url:
        page = page.next_page()
        pages += 1
    assert pages == 4


def test_list_filter_by_state(conversations, service):
    scoped = conversations.services(service.sid).conversations
    active = scoped.create(friendly_name="a").sid
    inactive = scoped.create(friendly_name="i").sid
    closed = scoped.create(friendly_name="c").sid
    scoped(inactive).update(state="inactive")
    scoped(closed).update(state="closed")

    assert {c.sid for c in scoped.list(state="active")} == {active}
    assert {c.sid for c in scoped.list(state="inactive")} == {inactive}
    assert {c.sid for c in scoped.list(state="closed")} == {closed}
    assert {c.sid for c in scoped.list(state="inactive", page_size=1)} == {inactive}
    assert len(scoped.list()) == 3


def test_list_filter_by_dates(conversations, service):
    from datetime import datetime, timezone

    scoped = conversations.services(service.sid).conversations
    old = scoped.create(
        friendly_name="old", date_created=datetime(2020, 1, 1, tzinfo=timezone.utc)
    )
    mid = scoped.create(
        friendly_name="mid", date_created=datetime(2020, 6, 1, 12, tzinfo=timezone.utc)
    )
    new = scoped.create(
        friendly_name="new", date_created=datetime(2021, 1, 1, tzinfo=timezone.utc)
    )
    assert mid.date_created == datetime(2020, 6, 1, 12, tzinfo=timezone.utc)

    # twilio 9.13 types StartDate/EndDate as str and sends them verbatim (ISO-8601).
    between = scoped.list(
        start_date="2020-03-01T00:00:00Z", end_date="2020-12-31T00:00:00Z"
    )
    assert [c.sid for c in between] == [mid.sid]
    since = scoped.list(start_date="2020-03-01T00:00:00Z", page_size=1)
    assert {c.sid for c in since} == {mid.sid, new.sid}
    # Filtered lists are sorted by creation date, newest first.
    assert [c.sid for c in since] == [new.sid, mid.sid]
    until = scoped.list(end_date="2020-12-31")
    assert {c.sid for c in until} == {old.sid, mid.sid}


def test_timers_move_state_to_inactive_then_closed(conversations):
    conv = conversations.conversations.create(
        friendly_name="timed", timers_inactive="PT1S", timers_closed="PT3S"
    )
    assert conv.state == "active"
    assert set(conv.timers) == {"date_inactive", "date_closed"}, conv.timers
    seen = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = conversations.conversations(conv.sid).fetch().state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == "closed":
            break
        time.sleep(0.2)
    assert seen == ["active", "inactive", "closed"], seen


def test_timer_below_minimum_is_refused(conversations):
    with expect_error(400, 20001):
        conversations.conversations.create(timers_inactive="PT0S")
    with expect_error(400, 20001):
        conversations.conversations.create(timers_inactive="soon")


def test_conversation_with_participants(conversations, uid):
    address, proxy = phone(), phone()
    conv = conversations.conversation_with_participants.create(
        friendly_name=f"cwp-{uid}",
        attributes=json.dumps({"via": "cwp"}),
        participant=[
            json.dumps({"identity": f"a-{uid}"}),
            json.dumps({"messaging_binding": {"address": address, "proxy_address": proxy}}),
        ],
    )
    assert_sid(conv.sid, "CH")
    assert conv.friendly_name == f"cwp-{uid}"
    same_json(conv.attributes, {"via": "cwp"})
    assert conv.state in ("active", "initializing")
    assert_date(conv.date_created)

    fetched = conversations.conversations(conv.sid).fetch()
    assert fetched.friendly_name == f"cwp-{uid}"
    participants = conversations.conversations(conv.sid).participants.list()
    assert len(participants) == 2
    chat = [p for p in participants if p.identity == f"a-{uid}"]
    sms = [p for p in participants if p.identity is None]
    assert len(chat) == 1 and chat[0].messaging_binding is None
    assert len(sms) == 1
    assert sms[0].messaging_binding["address"] == address
    assert sms[0].messaging_binding["proxy_address"] == proxy


def test_conversation_with_duplicate_participants_is_refused(conversations, uid):
    with expect_error(409, 50433):
        conversations.conversation_with_participants.create(
            participant=[
                json.dumps({"identity": f"x-{uid}"}),
                json.dumps({"identity": f"x-{uid}"}),
            ]
        )


def test_unique_name_can_be_changed(conversations, uid):
    conv = conversations.conversations.create(unique_name=f"before-{uid}")
    updated = conversations.conversations(f"before-{uid}").update(unique_name=f"after-{uid}")
    assert updated.unique_name == f"after-{uid}"
    assert conversations.conversations(f"after-{uid}").fetch().sid == conv.sid
    with expect_error(404, 20404):
        conversations.conversations(f"before-{uid}").fetch()
    # Update and delete also accept the unique name in the path.
    conversations.conversations(f"after-{uid}").update(friendly_name="by name")
    assert conversations.conversations(conv.sid).fetch().friendly_name == "by name"
    assert conversations.conversations(f"after-{uid}").delete() is True
    with expect_error(404, 20404):
        conversations.conversations(conv.sid).fetch()


def test_webhook_enabled_header_is_accepted(conversations):
    conv = conversations.conversations.create(
        friendly_name="hooked", x_twilio_webhook_enabled="true"
    )
    updated = conversations.conversations(conv.sid).update(
        friendly_name="hooked2", x_twilio_webhook_enabled="false"
    )
    assert updated.friendly_name == "hooked2"


def test_new_message_reactivates_an_inactive_conversation(conversations):
    conv = conversations.conversations.create()
    conversations.conversations(conv.sid).update(state="inactive")
    conversations.conversations(conv.sid).messages.create(author="system", body="ping")
    assert conversations.conversations(conv.sid).fetch().state == "active"


def _is_client_error(err):
    return 400 <= err.status < 500 and err.code is not None


def test_closed_conversation_is_final(conversations):
    from twilio.base.exceptions import TwilioRestException

    conv = conversations.conversations.create()
    conversations.conversations(conv.sid).update(state="closed")
    with pytest.raises(TwilioRestException) as reopen:
        conversations.conversations(conv.sid).update(state="active")
    assert _is_client_error(reopen.value), (reopen.value.status, reopen.value.code)
    with pytest.raises(TwilioRestException) as post:
        conversations.conversations(conv.sid).messages.create(author="system", body="late")
    assert _is_client_error(post.value), (post.value.status, post.value.code)
    assert conversations.conversations(conv.sid).fetch().state == "closed"
    assert conversations.conversations(conv.sid).messages.list() == []


def test_conversation_cannot_be_created_closed(conversations):
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as info:
        conversations.conversations.create(state="closed")
    assert info.value.status == 400


def test_previous_page(conversations, service):
    scoped = conversations.services(service.sid).conversations
    for i in range(3):
        scoped.create(friendly_name=f"p{i}")
    first = scoped.page(page_size=2)
    second = first.next_page()
    assert second is not None and len(list(second)) == 1
    back = second.previous_page()
    assert [c.sid for c in back] == [c.sid for c in first]
    assert first.previous_page() is None


def test_async_client(server):
    """The library's async flavour (AsyncTwilioHttpClient) against the same server."""
    import asyncio

    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    async def scenario():
        http = AsyncTwilioHttpClient()
        client = Client(server.account_sid, server.auth_token, http_client=http)
        client.conversations.base_url = server.base + "/conversations"
        try:
            v1 = client.conversations.v1
            conv = await v1.conversations.create_async(friendly_name="async")
            await v1.conversations(conv.sid).participants.create_async(identity="async-user")
            msg = await v1.conversations(conv.sid).messages.create_async(
                author="async-user", body="from asyncio"
            )
            listed = [m async for m in await v1.conversations(conv.sid).messages.stream_async()]
            fetched = await v1.conversations(conv.sid).fetch_async()
            assert await v1.conversations(conv.sid).delete_async() is True
            return conv, msg, listed, fetched
        finally:
            await http.close()

    conv, msg, listed, fetched = asyncio.run(scenario())
    assert_sid(conv.sid, "CH")
    assert msg.index == 0 and msg.participant_sid is not None
    assert [m.sid for m in listed] == [msg.sid]
    assert fetched.friendly_name == "async"
    assert_date(fetched.date_created)


def test_activity_pushes_the_inactive_timer_back(conversations):
    """Timers count from the last activity: a message resets date_inactive/date_closed."""
    conv = conversations.conversations.create(timers_inactive="PT2S", timers_closed="PT30S")
    before = conv.timers["date_inactive"]
    time.sleep(1.2)
    conversations.conversations(conv.sid).messages.create(author="system", body="still here")
    after = conversations.conversations(conv.sid).fetch()
    assert after.timers["date_inactive"] > before, (before, after.timers)
    time.sleep(1.2)
    # 2.4 s after creation but only 1.2 s after the message: still active.
    assert conversations.conversations(conv.sid).fetch().state == "active"
