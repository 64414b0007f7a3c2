"""Flex Interactions with the official client (twilio-api.md §11.3 items 3 and 4): an
inbound interaction bound to a conversation, the task it creates, accepting the reservation
(agent participant with routing_properties), the agent leaving (task completed, conversation
still active), and closing the channel (conversation closed)."""

import json
import time

import pytest

from helpers import assert_sid, expect_error, phone

DEADLINE = 10.0


def wait_for(what, probe):
    end = time.monotonic() + DEADLINE
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def flex_ws(client):
    ws = next(
        w for w in client.taskrouter.v1.workspaces.list()
        if w.friendly_name == "Flex Task Assignment"
    )
    return client.taskrouter.v1.workspaces(ws.sid), ws.sid


def available_worker(ws, name):
    available = ws.activities.list(friendly_name="Available")[0].sid
    attrs = json.dumps({"contact_uri": f"client:{name}"})
    return ws.workers.create(friendly_name=name, attributes=attrs, activity_sid=available)


def start_interaction(client, ws_sid, worker_sid, uid):
    conv = client.conversations.v1.conversations.create(friendly_name=f"flex-{uid}")
    client.conversations.v1.conversations(conv.sid).participants.create(
        messaging_binding_address=phone(), messaging_binding_proxy_address=phone()
    )
    interaction = client.flex_api.v1.interaction.create(
        channel={"type": "sms", "initiated_by": "customer",
                 "properties": {"media_channel_sid": conv.sid}},
        routing={"properties": {"workspace_sid": ws_sid, "worker_sid": worker_sid}},
    )
    return conv, interaction


def accept(ws, task_sid):
    def pending():
        rs = ws.tasks(task_sid).reservations.list()
        return next((r for r in rs if r.reservation_status == "pending"), None)

    r = wait_for("a reservation", pending)
    ws.tasks(task_sid).reservations(r.sid).update(reservation_status="accepted")
    return r.sid


def test_inbound_interaction_accept_and_participant_closed(client, flex_ws, uid):
    ws, ws_sid = flex_ws
    agent = available_worker(ws, f"agent-{uid}")
    conv, interaction = start_interaction(client, ws_sid, agent.sid, uid)
    assert_sid(interaction.sid, "KD")
    uo = interaction.channel["sid"]
    assert_sid(uo, "UO")

    channels = client.flex_api.v1.interaction(interaction.sid).channels.list()
    assert [c.sid for c in channels] == [uo]
    assert channels[0].status == "active"

    task_sid = interaction.routing["properties"]["sid"]
    task = ws.tasks(task_sid).fetch()
    assert json.loads(task.attributes)["conversationSid"] == conv.sid

    reservation = accept(ws, task_sid)
    channel = client.flex_api.v1.interaction(interaction.sid).channels(uo)
    agents = [p for p in channel.participants.list() if p.type == "agent"]
    assert len(agents) == 1
    assert agents[0].routing_properties["reservation_sid"] == reservation
    identities = [p.identity for p in client.conversations.v1.conversations(conv.sid).participants.list()]
    assert f"agent-{uid}" in identities

    channel.participants(agents[0].sid).update(status="closed")
    wait_for("task completed",
             lambda: ws.tasks(task_sid).fetch().assignment_status == "completed")
    assert client.conversations.v1.conversations(conv.sid).fetch().state == "active"


def test_channel_closed_with_routing_closes_the_conversation(client, flex_ws, uid):
    ws, ws_sid = flex_ws
    agent = available_worker(ws, f"closer-{uid}")
    conv, interaction = start_interaction(client, ws_sid, agent.sid, uid)
    task_sid = interaction.routing["properties"]["sid"]
    accept(ws, task_sid)
    uo = interaction.channel["sid"]
    updated = client.flex_api.v1.interaction(interaction.sid).channels(uo).update(
        status="closed", routing={"status": "closed"}
    )
    assert updated.status == "closed"
    assert client.conversations.v1.conversations(conv.sid).fetch().state == "closed"
    wait_for("task completed",
             lambda: ws.tasks(task_sid).fetch().assignment_status == "completed")


def test_interaction_errors(client):
    with expect_error(400, 20001):
        client.flex_api.v1.interaction.create(channel="{not json")
    with expect_error(404, 20404):
        client.flex_api.v1.interaction("KD" + "0" * 32).fetch()


def test_web_chats_create_a_conversation_with_its_customer(client, uid):
    """`flex_api.v2.web_channels.create` (POST /v2/WebChats), as a site's backend calls it."""
    chat = next(
        a for a in client.conversations.v1.address_configurations.list()
        if a.type == "chat"
    )
    made = client.flex_api.v2.web_channels.create(
        address_sid=chat.sid,
        chat_friendly_name="Webchat widget",
        customer_friendly_name="Ana",
        pre_engagement_data=json.dumps({"friendlyName": "Ana", "topic": uid}),
    )
    assert_sid(made.conversation_sid, "CH")
    assert made.identity
    conv = client.conversations.v1.conversations(made.conversation_sid).fetch()
    assert conv.friendly_name == "Webchat widget"
    customer = client.conversations.v1.conversations(conv.sid).participants(made.identity).fetch()
    attributes = json.loads(customer.attributes)
    assert attributes["friendlyName"] == "Ana"
    assert attributes["pre_engagement_data"]["topic"] == uid
    with expect_error(400, 20001):
        client.flex_api.v2.web_channels.create(address_sid="IG" + "0" * 32)
