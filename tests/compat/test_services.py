"""Services, service-scoped resources, Users, Roles and Configuration."""

import json

import pytest

from helpers import assert_date, assert_sid, expect_error, same_json


@pytest.fixture
def service(conversations, uid):
    svc = conversations.services.create(friendly_name=f"svc-{uid}")
    yield svc
    try:
        conversations.services(svc.sid).delete()
    except Exception:  # already deleted by the test
        pass


def test_service_crud(server, conversations, uid):
    svc = conversations.services.create(friendly_name=f"crud-{uid}")
    assert_sid(svc.sid, "IS")
    assert svc.account_sid == server.account_sid
    assert svc.friendly_name == f"crud-{uid}"
    assert_date(svc.date_created)
    assert_date(svc.date_updated)
    assert "conversations" in svc.links

    fetched = conversations.services(svc.sid).fetch()
    assert fetched.sid == svc.sid and fetched.friendly_name == f"crud-{uid}"
    assert svc.sid in {s.sid for s in conversations.services.list()}
    assert svc.sid in {s.sid for s in conversations.services.stream(page_size=1)}

    assert conversations.services(svc.sid).delete() is True
    with expect_error(404, 20404):
        conversations.services(svc.sid).fetch()
    assert svc.sid not in {s.sid for s in conversations.services.list()}


def test_service_scoped_conversations(conversations, service, uid):
    scoped = conversations.services(service.sid)
    conv = scoped.conversations.create(
        friendly_name="scoped", unique_name=f"scoped-{uid}", attributes=json.dumps({"s": 1})
    )
    assert conv.chat_service_sid == service.sid
    assert_sid(conv.sid, "CH")
    assert scoped.conversations(conv.sid).fetch().friendly_name == "scoped"
    assert scoped.conversations(f"scoped-{uid}").fetch().sid == conv.sid
    assert [c.sid for c in scoped.conversations.list()] == [conv.sid]

    part = scoped.conversations(conv.sid).participants.create(identity=f"u-{uid}")
    assert_sid(part.sid, "MB")
    assert part.chat_service_sid == service.sid
    assert scoped.conversations(conv.sid).participants(f"u-{uid}").fetch().sid == part.sid

    msg = scoped.conversations(conv.sid).messages.create(author=f"u-{uid}", body="hello")
    assert msg.index == 0
    assert msg.participant_sid == part.sid
    assert msg.chat_service_sid == service.sid
    assert [m.body for m in scoped.conversations(conv.sid).messages.list()] == ["hello"]

    # Not visible through the unscoped (default service) paths.
    with expect_error(404, 20404):
        conversations.conversations(conv.sid).fetch()
    with expect_error(404, 20404):
        conversations.conversations(f"scoped-{uid}").fetch()
    with expect_error(404, 20404):
        conversations.conversations(conv.sid).messages.create(body="sneaky")
    assert conv.sid not in {c.sid for c in conversations.conversations.list()}

    # Service-scoped ConversationWithParticipants and ParticipantConversations.
    cwp = scoped.conversation_with_participants.create(
        friendly_name="cwp", participant=[json.dumps({"identity": f"u-{uid}"})]
    )
    assert cwp.chat_service_sid == service.sid
    pcs = scoped.participant_conversations.list(identity=f"u-{uid}")
    assert {p.conversation_sid for p in pcs} == {conv.sid, cwp.sid}
    assert conversations.participant_conversations.list(identity=f"u-{uid}") == []


def test_unknown_service_is_not_found(conversations):
    with expect_error(404, 20404):
        conversations.services("IS" + "0" * 32).fetch()
    with expect_error(404, 20404):
        conversations.services("IS" + "0" * 32).conversations.create(friendly_name="x")


def _exercise_users(users, uid):
    user = users.create(
        identity=f"user-{uid}", friendly_name="User One", attributes=json.dumps({"a": 1})
    )
    assert_sid(user.sid, "US")
    assert user.identity == f"user-{uid}"
    assert user.friendly_name == "User One"
    same_json(user.attributes, {"a": 1})
    assert_sid(user.role_sid, "RL")
    assert_date(user.date_created)

    assert users(f"user-{uid}").fetch().sid == user.sid
    assert users(user.sid).fetch().identity == f"user-{uid}"

    updated = users(f"user-{uid}").update(friendly_name="Renamed")
    assert updated.friendly_name == "Renamed"
    assert users(user.sid).fetch().friendly_name == "Renamed"

    with expect_error(409, 50201):
        users.create(identity=f"user-{uid}")

    second = users.create(identity=f"user2-{uid}")
    sids = {u.sid for u in users.list()}
    assert {user.sid, second.sid} <= sids
    assert {user.sid, second.sid} <= {u.sid for u in users.stream(page_size=1)}

    assert users(user.sid).delete() is True
    with expect_error(404, 20404):
        users(f"user-{uid}").fetch()
    assert user.sid not in {u.sid for u in users.list()}
    return second


def test_users_unscoped(conversations, uid):
    _exercise_users(conversations.users, uid)


def test_users_service_scoped(conversations, service, uid):
    scoped = conversations.services(service.sid).users
    second = _exercise_users(scoped, uid)
    assert second.chat_service_sid == service.sid
    assert {u.sid for u in scoped.list()} == {second.sid}
    # Users of another service are not visible unscoped.
    with expect_error(404, 20404):
        conversations.users(second.sid).fetch()


def _exercise_roles(roles):
    before = roles.list()
    role = roles.create(
        friendly_name="Limited", type="conversation", permission=["sendMessage", "leaveConversation"]
    )
    assert_sid(role.sid, "RL")
    assert role.friendly_name == "Limited"
    assert role.type == "conversation"
    assert sorted(role.permissions) == ["leaveConversation", "sendMessage"]
    assert_date(role.date_created)

    fetched = roles(role.sid).fetch()
    assert sorted(fetched.permissions) == ["leaveConversation", "sendMessage"]

    updated = roles(role.sid).update(permission=["sendMessage", "editOwnMessage", "deleteOwnMessage"])
    assert sorted(updated.permissions) == ["deleteOwnMessage", "editOwnMessage", "sendMessage"]
    assert sorted(roles(role.sid).fetch().permissions) == sorted(updated.permissions)

    listed = roles.list(page_size=2)
    assert len(listed) == len(before) + 1
    assert role.sid in {r.sid for r in listed}

    assert roles(role.sid).delete() is True
    with expect_error(404, 20404):
        roles(role.sid).fetch()
    assert {r.sid for r in roles.list()} == {r.sid for r in before}
    return before


def test_roles_unscoped(conversations):
    _exercise_roles(conversations.roles)


def test_roles_service_scoped(conversations, service):
    scoped = conversations.services(service.sid).roles
    defaults = scoped.list()
    assert len(defaults) == 4, [(r.friendly_name, r.type) for r in defaults]
    assert {r.type for r in defaults} == {"conversation", "service"}
    for r in defaults:
        assert r.chat_service_sid == service.sid
        assert r.permissions
    _exercise_roles(scoped)


def test_role_requires_permission_and_valid_type(conversations):
    with expect_error(400, 20001):
        conversations.roles.create(friendly_name="x", type="conversation", permission=[])
    with expect_error(400, 20001):
        conversations.roles.create(friendly_name="x", type="galaxy", permission=["sendMessage"])


def test_account_configuration(subaccount):
    """Run in a fresh subaccount: changing account defaults must not affect other tests."""
    _, sub = subaccount
    v1 = sub.conversations.v1
    config = v1.configuration().fetch()
    assert_sid(config.default_chat_service_sid, "IS")
    assert v1.services(config.default_chat_service_sid).fetch().sid == config.default_chat_service_sid
    assert v1.conversations.create().chat_service_sid == config.default_chat_service_sid

    updated = v1.configuration().update(default_inactive_timer="PT2M", default_closed_timer="PT20M")
    assert updated.default_inactive_timer == "PT2M"
    assert updated.default_closed_timer == "PT20M"
    again = v1.configuration().fetch()
    assert (again.default_inactive_timer, again.default_closed_timer) == ("PT2M", "PT20M")
    assert again.default_chat_service_sid == config.default_chat_service_sid

    # New conversations get the account's default timers.
    conv = v1.conversations.create(friendly_name="defaults")
    assert set(conv.timers) == {"date_inactive", "date_closed"}, conv.timers

    # The default service can be switched.
    other = v1.services.create(friendly_name="other")
    switched = v1.configuration().update(default_chat_service_sid=other.sid)
    assert switched.default_chat_service_sid == other.sid
    assert v1.conversations.create().chat_service_sid == other.sid


def test_service_configuration(conversations, service):
    cfg = conversations.services(service.sid).configuration().fetch()
    assert cfg.chat_service_sid == service.sid
    roles = {r.sid: r for r in conversations.services(service.sid).roles.list()}
    for sid in (
        cfg.default_conversation_creator_role_sid,
        cfg.default_conversation_role_sid,
        cfg.default_chat_service_role_sid,
    ):
        assert sid in roles
    assert roles[cfg.default_conversation_role_sid].type == "conversation"
    assert roles[cfg.default_chat_service_role_sid].type == "service"

    custom = conversations.services(service.sid).roles.create(
        friendly_name="custom", type="conversation", permission=["sendMessage"]
    )
    updated = conversations.services(service.sid).configuration().update(
        default_conversation_role_sid=custom.sid, reachability_enabled=True
    )
    assert updated.default_conversation_role_sid == custom.sid
    assert updated.reachability_enabled is True
    fetched = conversations.services(service.sid).configuration().fetch()
    assert fetched.default_conversation_role_sid == custom.sid
    assert fetched.reachability_enabled is True

    # New participants in that service get the new default conversation role.
    conv = conversations.services(service.sid).conversations.create()
    part = conversations.services(service.sid).conversations(conv.sid).participants.create(
        identity="someone"
    )
    assert part.role_sid == custom.sid


def test_user_conversations(conversations, uid):
    identity = f"uc-{uid}"
    user = conversations.users.create(identity=identity)
    conv = conversations.conversations.create(friendly_name="Case", unique_name=f"case-{uid}")
    conversations.conversations(conv.sid).participants.create(identity=identity)
    for body in ("one", "two", "three"):
        conversations.conversations(conv.sid).messages.create(body=body)

    listed = conversations.users(user.sid).user_conversations.list()
    assert [c.conversation_sid for c in listed] == [conv.sid]
    assert listed[0].unread_messages_count is None
    assert listed[0].notification_level == "default"

    updated = conversations.users(identity).user_conversations(conv.sid).update(
        last_read_message_index=0, notification_level="muted"
    )
    assert updated.unread_messages_count == 2
    assert updated.notification_level == "muted"
    assert conversations.conversations(conv.sid).participants(identity).fetch().last_read_message_index == 0

    assert conversations.users(user.sid).user_conversations(conv.sid).delete() is True
    assert conversations.users(user.sid).user_conversations.list() == []
