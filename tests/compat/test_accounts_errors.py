"""Error bodies, authentication, subaccount isolation and idempotent creates."""

import json
import uuid

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from helpers import assert_date, assert_sid, expect_error


def test_unknown_conversation_is_404(conversations):
    with expect_error(404, 20404) as info:
        conversations.conversations("CH" + "f" * 32).fetch()
    assert info.value.method == "GET"
    with expect_error(404, 20404):
        conversations.conversations("no-such-unique-name").fetch()


def test_wrong_auth_token_is_401(server):
    bad = server.client(server.account_sid, "0" * 32)
    with expect_error(401, 20003):
        bad.conversations.v1.conversations("CH" + "f" * 32).fetch()
    with expect_error(401, 20003):
        bad.conversations.v1.conversations.create(friendly_name="nope")
    unknown = server.client("AC" + "9" * 32, server.auth_token)
    with expect_error(401, 20003):
        unknown.conversations.v1.configuration().fetch()


def test_invalid_attributes_json_is_400(conversations):
    with expect_error(400, 20001):
        conversations.conversations.create(attributes="{not json")
    conv = conversations.conversations.create()
    with expect_error(400, 20001):
        conversations.conversations(conv.sid).update(attributes="[1,")
    with expect_error(400, 20001):
        conversations.conversations(conv.sid).participants.create(
            identity="x", attributes="nope"
        )
    with expect_error(400, 20001):
        conversations.conversations(conv.sid).messages.create(body="b", attributes="{")


def test_subaccount_is_isolated(server, client, conversations, subaccount, uid):
    account, sub = subaccount
    assert_sid(account.sid, "AC")
    assert account.sid != server.account_sid
    assert account.owner_account_sid == server.account_sid
    assert account.friendly_name == "sub"
    assert isinstance(account.auth_token, str) and len(account.auth_token) >= 32
    assert account.status == "active"
    assert client.api.v2010.accounts(account.sid).fetch().sid == account.sid

    parent_conv = conversations.conversations.create(
        friendly_name="parent only", unique_name=f"parent-{uid}"
    )
    sub_v1 = sub.conversations.v1
    with expect_error(404, 20404):
        sub_v1.conversations(parent_conv.sid).fetch()
    with expect_error(404, 20404):
        sub_v1.conversations(f"parent-{uid}").fetch()
    with expect_error(404, 20404):
        sub_v1.conversations(parent_conv.sid).messages.create(body="hi")
    # List calls raise a plain TwilioException carrying the response (no code parsing).
    with pytest.raises(TwilioException) as listing:
        sub_v1.conversations(parent_conv.sid).participants.list()
    response = listing.value.args[1]
    assert response.status_code == 404
    assert json.loads(response.text)["code"] == 20404
    assert parent_conv.sid not in {c.sid for c in sub_v1.conversations.list()}
    assert sub_v1.conversations.list() == []

    parent_service = conversations.configuration().fetch().default_chat_service_sid
    with expect_error(404, 20404):
        sub_v1.services(parent_service).fetch()
    assert parent_service not in {s.sid for s in sub_v1.services.list()}

    # And the other way round: the subaccount's own data is its own.
    sub_conv = sub_v1.conversations.create(friendly_name="sub only")
    assert sub_conv.account_sid == account.sid
    assert [c.sid for c in sub_v1.conversations.list()] == [sub_conv.sid]
    with expect_error(404, 20404):
        conversations.conversations(sub_conv.sid).fetch()

    # A subaccount cannot see its parent's account record.
    with expect_error(404, 20404):
        sub.api.v2010.accounts(server.account_sid).fetch()


def test_idempotent_message_create(server, client, conversations):
    conv = conversations.conversations.create(friendly_name="idempotent")
    url = f"{server.base}/conversations/v1/Conversations/{conv.sid}/Messages"
    key = uuid.uuid4().hex
    data = {"Author": "system", "Body": "exactly once"}
    first = client.request("POST", url, data=data, headers={"I-Twilio-Idempotency-Token": key})
    second = client.request("POST", url, data=data, headers={"I-Twilio-Idempotency-Token": key})
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    a, b = json.loads(first.text), json.loads(second.text)
    assert a["sid"] == b["sid"]
    assert a["index"] == b["index"] == 0
    listed = conversations.conversations(conv.sid).messages.list()
    assert [m.sid for m in listed] == [a["sid"]]

    # A different key is a different message.
    third = client.request(
        "POST", url, data=data, headers={"I-Twilio-Idempotency-Token": uuid.uuid4().hex}
    )
    assert third.status_code == 201, third.text
    assert json.loads(third.text)["index"] == 1
    assert len(conversations.conversations(conv.sid).messages.list()) == 2


def test_idempotent_conversation_create(server, client, conversations, uid):
    url = f"{server.base}/conversations/v1/Conversations"
    key = uuid.uuid4().hex
    data = {"FriendlyName": f"idem-{uid}"}
    first = client.request("POST", url, data=data, headers={"I-Twilio-Idempotency-Token": key})
    second = client.request("POST", url, data=data, headers={"I-Twilio-Idempotency-Token": key})
    assert first.status_code == second.status_code == 201
    assert json.loads(first.text)["sid"] == json.loads(second.text)["sid"]
    named = [
        c for c in conversations.conversations.list() if c.friendly_name == f"idem-{uid}"
    ]
    assert len(named) == 1


def test_error_body_shape(server, client):
    """The raw error body Twilio sends: code, message, more_info, status."""
    url = f"{server.base}/conversations/v1/Conversations/CH{'e' * 32}"
    resp = client.request("GET", url)
    assert resp.status_code == 404
    body = json.loads(resp.text)
    assert body["code"] == 20404 and body["status"] == 404
    assert body["more_info"] == "https://www.twilio.com/docs/errors/20404"
    assert isinstance(body["message"], str) and body["message"]


def test_closed_subaccount_cannot_authenticate(client, subaccount):
    account, sub = subaccount
    assert sub.conversations.v1.configuration().fetch().account_sid == account.sid
    closed = client.api.v2010.accounts(account.sid).update(status="closed")
    assert closed.status == "closed"
    try:
        sub.conversations.v1.configuration().fetch()
    except TwilioRestException as err:
        assert err.status in (401, 403), (err.status, err.code)
    else:
        raise AssertionError("a closed subaccount's credentials still work")


def test_account_list_and_filters(server, client, uid):
    one = client.api.v2010.accounts.create(friendly_name=f"team-{uid}")
    two = client.api.v2010.accounts.create(friendly_name=f"other-{uid}")
    everything = {a.sid for a in client.api.v2010.accounts.list(page_size=1)}
    assert {server.account_sid, one.sid, two.sid} <= everything

    own = client.api.v2010.account.fetch()
    assert own.sid == server.account_sid
    assert_date(own.date_created)

    named = client.api.v2010.accounts.list(friendly_name=f"team-{uid}")
    assert [a.sid for a in named] == [one.sid]

    client.api.v2010.accounts(two.sid).update(status="suspended")
    suspended = {a.sid for a in client.api.v2010.accounts.list(status="suspended")}
    assert two.sid in suspended and one.sid not in suspended
    active = {a.sid for a in client.api.v2010.accounts.list(status="active")}
    assert one.sid in active and two.sid not in active


def test_api_keys_authenticate_the_helper_library(server, client):
    key = client.api.v2010.account.new_keys.create(friendly_name="backend")
    assert_sid(key.sid, "SK")
    assert key.secret
    assert client.api.v2010.account.keys(key.sid).fetch().friendly_name == "backend"
    assert key.sid in {k.sid for k in client.api.v2010.account.keys.list()}

    # Client(api_key, api_secret, account_sid) as Twilio documents it.
    from twilio.rest import Client

    keyed = Client(key.sid, key.secret, server.account_sid)
    keyed.conversations.base_url = server.base + "/conversations"
    conv = keyed.conversations.v1.conversations.create(friendly_name="via API key")
    assert conv.account_sid == server.account_sid

    assert client.api.v2010.account.keys(key.sid).delete() is True
    with expect_error(401, 20003):
        keyed.conversations.v1.conversations(conv.sid).fetch()
