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
