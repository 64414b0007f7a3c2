"""Messages and delivery receipts."""

import json

from helpers import assert_date, assert_sid, expect_error, same_json


def test_message_lifecycle(conversations, uid):
    conv = conversations.conversations.create(friendly_name=f"m-{uid}")
    bob = conversations.conversations(conv.sid).participants.create(identity=f"bob-{uid}")
    messages = conversations.conversations(conv.sid).messages

    m0 = messages.create(
        author=f"bob-{uid}", body="Hello there", attributes=json.dumps({"importance": "high"})
    )
    assert_sid(m0.sid, "IM")
    assert m0.conversation_sid == conv.sid
    assert m0.index == 0
    assert m0.author == f"bob-{uid}"
    assert m0.body == "Hello there"
    same_json(m0.attributes, {"importance": "high"})
    assert m0.participant_sid == bob.sid
    assert_date(m0.date_created)
    assert_date(m0.date_updated)
    assert m0.media is None

    m1 = messages.create(author="system", body="System notice")
    assert m1.index == 1
    assert m1.author == "system"
    assert m1.participant_sid is None
    same_json(m1.attributes, {})

    m2 = messages.create(body="No author given")
    assert m2.index == 2
    assert m2.author == "system"
    assert m2.participant_sid is None

    fetched = messages(m1.sid).fetch()
    assert (fetched.sid, fetched.index, fetched.body) == (m1.sid, 1, "System notice")
    assert fetched.date_created == m1.date_created

    edited = messages(m1.sid).update(body="Edited notice")
    assert edited.body == "Edited notice"
    assert edited.index == 1
    assert messages(m1.sid).fetch().body == "Edited notice"

    # Deleting the newest message does not free its index.
    assert messages(m2.sid).delete() is True
    with expect_error(404, 20404):
        messages(m2.sid).fetch()
    m3 = messages.create(author=f"bob-{uid}", body="After delete")
    assert m3.index == 3

    asc = messages.list()
    assert [m.index for m in asc] == [0, 1, 3]
    desc = messages.list(order="desc")
    assert [m.index for m in desc] == [3, 1, 0]
    assert [m.sid for m in desc] == [m3.sid, m1.sid, m0.sid]

    streamed = list(messages.stream(page_size=1))
    assert [m.index for m in streamed] == [0, 1, 3]
    streamed_desc = list(messages.stream(order="desc", page_size=2))
    assert [m.index for m in streamed_desc] == [3, 1, 0]
    assert [m.index for m in messages.list(order="desc", limit=2, page_size=1)] == [3, 1]


def test_body_limit(conversations):
    conv = conversations.conversations.create()
    messages = conversations.conversations(conv.sid).messages
    ok = messages.create(author="system", body="x" * 1600)
    assert len(ok.body) == 1600
    with expect_error(400, 21617):
        messages.create(author="system", body="x" * 1601)
    assert len(messages.list()) == 1


def test_receipts_list_is_empty(conversations):
    conv = conversations.conversations.create()
    msg = conversations.conversations(conv.sid).messages.create(author="system", body="hi")
    receipts = (
        conversations.conversations(conv.sid).messages(msg.sid).delivery_receipts.list()
    )
    assert receipts == []


def test_message_in_unknown_conversation(conversations):
    with expect_error(404, 20404):
        conversations.conversations("CH" + "0" * 32).messages.create(body="hi")


def test_unicode_body_round_trips(conversations):
    conv = conversations.conversations.create(friendly_name="Café ☕")
    assert conversations.conversations(conv.sid).fetch().friendly_name == "Café ☕"
    text = "Grüße, 世界! 👋 & a=b+c"
    msg = conversations.conversations(conv.sid).messages.create(author="José", body=text)
    assert msg.body == text and msg.author == "José"
    assert conversations.conversations(conv.sid).messages(msg.sid).fetch().body == text
    # The limit counts characters, not bytes.
    long = conversations.conversations(conv.sid).messages.create(body="é" * 1600)
    assert len(long.body) == 1600


def test_message_update_attributes_and_date_updated(conversations):
    conv = conversations.conversations.create()
    msgs = conversations.conversations(conv.sid).messages
    m = msgs.create(author="system", body="v1")
    updated = msgs(m.sid).update(attributes=json.dumps({"edited": True}))
    same_json(updated.attributes, {"edited": True})
    assert updated.body == "v1"
    assert_date(updated.date_updated)
    assert updated.date_updated >= m.date_updated


def test_message_of_another_conversation_is_not_found(conversations):
    a = conversations.conversations.create()
    b = conversations.conversations.create()
    m = conversations.conversations(a.sid).messages.create(body="in a")
    with expect_error(404, 20404):
        conversations.conversations(b.sid).messages(m.sid).fetch()
    with expect_error(404, 20404):
        conversations.conversations(b.sid).messages(m.sid).update(body="hijack")
    with expect_error(404, 20404):
        conversations.conversations(b.sid).messages(m.sid).delete()
    assert conversations.conversations(a.sid).messages(m.sid).fetch().body == "in a"


def test_message_without_body_is_refused(conversations):
    from twilio.base.exceptions import TwilioRestException

    conv = conversations.conversations.create()
    try:
        conversations.conversations(conv.sid).messages.create(author="system")
    except TwilioRestException as err:
        assert err.status == 400
    else:
        raise AssertionError("a message with neither Body, MediaSid nor ContentSid was accepted")


def test_importing_history_with_explicit_dates(conversations):
    """Migrations replay old conversations: DateCreated/DateUpdated are honoured."""
    from datetime import datetime, timezone

    when = datetime(2019, 1, 1, 5, 30, tzinfo=timezone.utc)
    conv = conversations.conversations.create(
        friendly_name="imported", date_created=when, date_updated=when
    )
    assert conv.date_created == when and conv.date_updated == when
    part = conversations.conversations(conv.sid).participants.create(
        identity="old-timer", date_created=when
    )
    assert part.date_created == when
    msg = conversations.conversations(conv.sid).messages.create(
        author="old-timer", body="from 2019", date_created=when
    )
    assert msg.date_created == when
    assert conversations.conversations(conv.sid).messages(msg.sid).fetch().date_created == when


def test_media_message_after_an_mcs_upload(server, conversations, uid):
    """MCS upload is raw HTTP (not in the helper library), then Messages.create(media_sid=…)."""
    import requests  # installed with twilio

    service = conversations.configuration().fetch().default_chat_service_sid
    upload = requests.post(
        f"{server.base}/v1/Services/{service}/Media",
        params={"Filename": "car.jpg"},
        data=b"\xff\xd8\xff\xe0 not really a jpeg",
        headers={"Content-Type": "image/jpeg"},
        auth=(server.account_sid, server.auth_token),
        timeout=10,
    )
    assert upload.status_code == 201, upload.text
    media_sid = upload.json()["sid"]
    assert_sid(media_sid, "ME")

    conv = conversations.conversations.create(friendly_name=f"media-{uid}")
    m = conversations.conversations(conv.sid).messages.create(author="system", media_sid=media_sid)
    assert m.body is None
    assert m.media == [
        {"sid": media_sid, "size": 22, "content_type": "image/jpeg", "filename": "car.jpg"}
    ]
    fetched = conversations.conversations(conv.sid).messages(m.sid).fetch()
    assert fetched.media == m.media
