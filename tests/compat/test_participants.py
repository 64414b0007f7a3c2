"""Participants (chat and SMS) and ParticipantConversations."""

import json

import pytest

from helpers import assert_date, assert_sid, expect_error, phone, same_json


def test_chat_and_sms_participants(conversations, uid):
    conv = conversations.conversations.create(friendly_name=f"p-{uid}")
    participants = conversations.conversations(conv.sid).participants
    alice = f"alice-{uid}"

    chat = participants.create(identity=alice, attributes=json.dumps({"vip": True}))
    assert_sid(chat.sid, "MB")
    assert chat.conversation_sid == conv.sid
    assert chat.identity == alice
    assert chat.messaging_binding is None
    same_json(chat.attributes, {"vip": True})
    assert_sid(chat.role_sid, "RL")
    assert_date(chat.date_created)
    assert_date(chat.date_updated)
    assert chat.last_read_message_index is None

    address, proxy = phone(), phone()
    sms = participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )
    assert_sid(sms.sid, "MB")
    assert sms.identity is None
    assert sms.messaging_binding["type"] == "sms"
    assert sms.messaging_binding["address"] == address
    assert sms.messaging_binding["proxy_address"] == proxy
    same_json(sms.attributes, {})

    assert participants(chat.sid).fetch().identity == alice
    assert participants(alice).fetch().sid == chat.sid
    assert participants(sms.sid).fetch().messaging_binding["address"] == address

    # Read horizons need a message to point at.
    conversations.conversations(conv.sid).messages.create(author=alice, body="hi")
    updated = participants(chat.sid).update(
        attributes=json.dumps({"vip": False}),
        last_read_message_index=0,
        last_read_timestamp="2024-05-01T10:00:00Z",
    )
    same_json(updated.attributes, {"vip": False})
    assert updated.last_read_message_index == 0
    assert updated.last_read_timestamp == "2024-05-01T10:00:00Z"
    again = participants(alice).fetch()
    assert again.last_read_message_index == 0
    same_json(again.attributes, {"vip": False})

    listed = participants.list()
    assert {p.sid for p in listed} == {chat.sid, sms.sid}
    assert len(participants.list(page_size=1)) == 2

    assert participants(chat.sid).delete() is True
    with expect_error(404, 20404):
        participants(chat.sid).fetch()
    assert [p.sid for p in participants.list()] == [sms.sid]
    assert participants(sms.sid).delete() is True
    assert participants.list() == []


def test_participant_needs_identity_or_address(conversations):
    conv = conversations.conversations.create()
    with expect_error(400, 20001):
        conversations.conversations(conv.sid).participants.create(
            attributes=json.dumps({"x": 1})
        )


def test_duplicate_identity_is_a_conflict(conversations, uid):
    conv = conversations.conversations.create()
    participants = conversations.conversations(conv.sid).participants
    participants.create(identity=f"dup-{uid}")
    with expect_error(409, 50433):
        participants.create(identity=f"dup-{uid}")
    assert len(participants.list()) == 1


def test_address_pair_is_exclusive_until_the_conversation_closes(conversations):
    address, proxy = phone(), phone()
    first = conversations.conversations.create(friendly_name="first")
    second = conversations.conversations.create(friendly_name="second")
    conversations.conversations(first.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )

    with expect_error(409, 50416):
        conversations.conversations(second.sid).participants.create(
            messaging_binding_address=address, messaging_binding_proxy_address=proxy
        )
    # Same address through another proxy number is a different pair.
    conversations.conversations(second.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=phone()
    )

    conversations.conversations(first.sid).update(state="closed")
    freed = conversations.conversations(second.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )
    assert freed.messaging_binding["proxy_address"] == proxy


def test_participant_conversations_by_identity_and_address(conversations, uid):
    identity = f"pc-{uid}"
    address, proxy = phone(), phone()
    one = conversations.conversations.create(friendly_name="one", unique_name=f"one-{uid}")
    two = conversations.conversations.create(friendly_name="two")
    conversations.conversations(one.sid).participants.create(identity=identity)
    p2 = conversations.conversations(two.sid).participants.create(identity=identity)
    conversations.conversations(two.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )

    by_identity = conversations.participant_conversations.list(identity=identity)
    assert {c.conversation_sid for c in by_identity} == {one.sid, two.sid}
    assert len(by_identity) == 2
    for c in by_identity:
        assert c.participant_identity == identity
        assert c.conversation_state == "active"
        assert_sid(c.participant_sid, "MB")
        assert_date(c.conversation_date_created)
    first = next(c for c in by_identity if c.conversation_sid == one.sid)
    assert first.conversation_unique_name == f"one-{uid}"
    assert first.conversation_friendly_name == "one"
    second = next(c for c in by_identity if c.conversation_sid == two.sid)
    assert second.participant_sid == p2.sid

    paged = list(conversations.participant_conversations.stream(identity=identity, page_size=1))
    assert {c.conversation_sid for c in paged} == {one.sid, two.sid}

    by_address = conversations.participant_conversations.list(address=address)
    assert [c.conversation_sid for c in by_address] == [two.sid]
    assert by_address[0].participant_identity is None
    assert by_address[0].participant_messaging_binding["address"] == address

    assert conversations.participant_conversations.list(identity=f"nobody-{uid}") == []


def test_whatsapp_participant(conversations):
    conv = conversations.conversations.create()
    number, proxy = phone(), phone()
    p = conversations.conversations(conv.sid).participants.create(
        messaging_binding_address=f"whatsapp:{number}",
        messaging_binding_proxy_address=f"whatsapp:{proxy}",
    )
    assert p.messaging_binding == {
        "type": "whatsapp",
        "address": f"whatsapp:{number}",
        "proxy_address": f"whatsapp:{proxy}",
    }


def test_address_pair_stays_taken_while_inactive_and_is_freed_by_delete(conversations):
    address, proxy = phone(), phone()
    first = conversations.conversations.create()
    other = conversations.conversations.create()
    conversations.conversations(first.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )
    conversations.conversations(first.sid).update(state="inactive")
    with expect_error(409, 50416):
        conversations.conversations(other.sid).participants.create(
            messaging_binding_address=address, messaging_binding_proxy_address=proxy
        )
    conversations.conversations(first.sid).delete()
    p = conversations.conversations(other.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )
    # And removing the participant frees it as well.
    third = conversations.conversations.create()
    conversations.conversations(other.sid).participants(p.sid).delete()
    conversations.conversations(third.sid).participants.create(
        messaging_binding_address=address, messaging_binding_proxy_address=proxy
    )


def test_participant_of_another_conversation_is_not_found(conversations, uid):
    a = conversations.conversations.create()
    b = conversations.conversations.create()
    p = conversations.conversations(a.sid).participants.create(identity=f"only-a-{uid}")
    with expect_error(404, 20404):
        conversations.conversations(b.sid).participants(p.sid).fetch()
    with expect_error(404, 20404):
        conversations.conversations(b.sid).participants(f"only-a-{uid}").fetch()
    with expect_error(404, 20404):
        conversations.conversations(b.sid).participants(p.sid).update(attributes="{}")
    with expect_error(404, 20404):
        conversations.conversations(b.sid).participants(p.sid).delete()
    assert conversations.conversations(a.sid).participants(p.sid).fetch().sid == p.sid


def test_participant_role_must_exist(conversations, uid):
    """RoleSid must name a role of the conversation's service (users already check this)."""
    from twilio.base.exceptions import TwilioRestException

    conv = conversations.conversations.create()
    participants = conversations.conversations(conv.sid).participants
    custom = conversations.roles.create(
        friendly_name=f"role-{uid}", type="conversation", permission=["sendMessage"]
    )
    p = participants.create(identity=f"r-{uid}", role_sid=custom.sid)
    assert p.role_sid == custom.sid

    missing = "RL" + "0" * 32
    with pytest.raises(TwilioRestException) as create:
        participants.create(identity=f"r2-{uid}", role_sid=missing)
    assert create.value.status == 400, (create.value.status, create.value.code)
    with pytest.raises(TwilioRestException) as update:
        participants(p.sid).update(role_sid=missing)
    assert update.value.status == 400, (update.value.status, update.value.code)
    assert participants(p.sid).fetch().role_sid == custom.sid
