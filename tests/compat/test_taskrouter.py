"""TaskRouter v1 (`/taskrouter/v1`), through the official library only (shared/twilio-api.md §7).

Every test makes its own workspace (or its own workers, queues and workflows inside one), so
tests do not see each other's data; names carry a uuid suffix.
"""

import json
import re
import time

import pytest

from helpers import assert_date, assert_sid, expect_error, same_json
from twilio.base.exceptions import TwilioRestException

FLEX_WORKSPACE = "Flex Task Assignment"
FLEX_ACTIVITIES = {"Offline", "Available", "Unavailable", "Break"}
POLL_DEADLINE = 5.0

# §11.2 B with placeholders for the two queues.
CONFIG_B = {
    "task_routing": {
        "filters": [
            {
                "filter_friendly_name": "Known Agent",
                "expression": 'KnownAgentRoutingFlag == "true"',
                "targets": [
                    {
                        "queue": "WQ_ALL",
                        "known_worker_friendly_name": "task.KnownAgentWorkerFriendlyName",
                        "timeout": 30,
                    },
                    {"queue": "WQ_ALL"},
                ],
            },
            {
                "filter_friendly_name": "Payments",
                "expression": 'category == "payments"',
                "targets": [
                    {
                        "queue": "WQ_PAY",
                        "expression": "worker.routing.levels.payments >= 4",
                        "timeout": 30,
                        "priority": 5,
                        "skip_if": "workers.available == 0",
                    },
                    {
                        "queue": "WQ_PAY",
                        "expression": "worker.routing.levels.payments > 0",
                        "timeout": 30,
                        "order_by": "worker.routing.levels.payments DESC",
                    },
                    {"queue": "WQ_PAY"},
                ],
            },
        ],
        "default_filter": {"queue": "WQ_ALL"},
    }
}


def config_b(all_queue, pay_queue):
    text = json.dumps(CONFIG_B)
    return json.loads(text.replace("WQ_ALL", all_queue).replace("WQ_PAY", pay_queue))


def anyone(queue_sid):
    return json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": queue_sid}}})


def wait_for(what, probe, deadline=POLL_DEADLINE):
    """Polls `probe` until it returns something truthy, or fails after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def taskrouter(client):
    """Shorthand for `client.taskrouter.v1`."""
    return client.taskrouter.v1


@pytest.fixture
def ws(taskrouter, uid):
    """A fresh workspace (no template) for one test; deleted afterwards."""
    workspace = taskrouter.workspaces.create(friendly_name=f"compat-{uid}")
    yield taskrouter.workspaces(workspace.sid)
    try:
        taskrouter.workspaces(workspace.sid).delete()
    except TwilioRestException:
        pass


def activity_sid(ws, name):
    found = [a for a in ws.activities.list() if a.friendly_name == name]
    assert len(found) == 1, f"activity {name!r}: {[a.friendly_name for a in found]}"
    return found[0].sid


def make_worker(ws, name, attrs=None, activity="Available"):
    return ws.workers.create(
        friendly_name=name,
        attributes=json.dumps(attrs or {}),
        activity_sid=activity_sid(ws, activity),
    )


def pending_reservations(ws, task_sid):
    return [
        r for r in ws.tasks(task_sid).reservations.list() if r.reservation_status == "pending"
    ]


@pytest.fixture
def routed(ws, uid):
    """An Available worker with skill `support`, a queue selecting it, a workflow to
    that queue, and a chat task that has been offered to the worker."""
    worker = make_worker(
        ws, f"alice-{uid}", {"routing": {"skills": ["support"], "levels": {"support": 3}}}
    )
    queue = ws.task_queues.create(
        friendly_name=f"Support {uid}", target_workers="routing.skills HAS 'support'"
    )
    workflow = ws.workflows.create(friendly_name=f"To support {uid}", configuration=anyone(queue.sid))
    task = ws.tasks.create(
        workflow_sid=workflow.sid,
        task_channel="chat",
        attributes=json.dumps({"type": "support", "customer": f"c-{uid}"}),
    )
    reservation = wait_for("a reservation", lambda: pending_reservations(ws, task.sid))[0]
    return {
        "worker": worker,
        "queue": queue,
        "workflow": workflow,
        "task": task,
        "reservation": reservation,
    }


# ---------------------------------------------------------------- workspaces


def test_default_flex_workspace_exists(taskrouter):
    found = taskrouter.workspaces.list(friendly_name=FLEX_WORKSPACE)
    assert len(found) == 1, [w.friendly_name for w in taskrouter.workspaces.list()]
    flex = taskrouter.workspaces(found[0].sid)
    assert_sid(found[0].sid, "WS")
    assert {a.friendly_name for a in flex.activities.list()} >= FLEX_ACTIVITIES
    assert [q.friendly_name for q in flex.task_queues.list(friendly_name="Everyone")] == [
        "Everyone"
    ]
    everyone = flex.task_queues.list(friendly_name="Everyone")[0]
    assert everyone.target_workers == "1==1"
    workflows = [w for w in flex.workflows.list() if w.friendly_name == "Assign to Anyone"]
    assert len(workflows) == 1
    config = json.loads(workflows[0].configuration)
    assert config["task_routing"]["default_filter"]["queue"] == everyone.sid


def test_workspace_create_fetch_update_list_delete(taskrouter, server, uid):
    created = taskrouter.workspaces.create(
        friendly_name=f"ws-{uid}",
        event_callback_url="https://example.com/events",
        events_filter="task.created,reservation.accepted",
        prioritize_queue_order="FIFO",
    )
    assert_sid(created.sid, "WS")
    assert created.account_sid == server.account_sid
    assert created.friendly_name == f"ws-{uid}"
    assert created.event_callback_url == "https://example.com/events"
    assert created.events_filter == "task.created,reservation.accepted"
    assert created.multi_task_enabled is True
    assert created.prioritize_queue_order == "FIFO"
    assert created.default_activity_name == "Offline"
    assert created.timeout_activity_name == "Offline"
    assert_sid(created.default_activity_sid, "WA")
    assert_sid(created.timeout_activity_sid, "WA")
    assert_date(created.date_created)
    assert_date(created.date_updated)
    assert created.url.endswith(f"/Workspaces/{created.sid}")
    assert set(created.links) >= {
        "activities",
        "task_queues",
        "tasks",
        "workers",
        "workflows",
        "task_channels",
        "events",
        "statistics",
        "real_time_statistics",
        "cumulative_statistics",
    }
    ctx = taskrouter.workspaces(created.sid)
    assert {a.friendly_name for a in ctx.activities.list()} >= {"Offline"}
    # No template: no queue, no workflow.
    assert ctx.task_queues.list() == []
    assert ctx.workflows.list() == []

    fetched = ctx.fetch()
    assert fetched.sid == created.sid
    assert fetched.friendly_name == f"ws-{uid}"
    assert fetched.date_created == created.date_created

    available = activity_sid(ctx, "Available")
    updated = ctx.update(
        friendly_name=f"ws-{uid}-renamed",
        multi_task_enabled=False,
        default_activity_sid=available,
        prioritize_queue_order="LIFO",
    )
    assert updated.friendly_name == f"ws-{uid}-renamed"
    assert updated.multi_task_enabled is False
    assert updated.default_activity_sid == available
    assert updated.default_activity_name == "Available"
    assert updated.prioritize_queue_order == "LIFO"
    assert ctx.fetch().friendly_name == f"ws-{uid}-renamed"

    listed = taskrouter.workspaces.list(friendly_name=f"ws-{uid}-renamed")
    assert [w.sid for w in listed] == [created.sid]
    assert created.sid in {w.sid for w in taskrouter.workspaces.list()}

    assert ctx.delete() is True
    with expect_error(404, 20404):
        ctx.fetch()
    assert taskrouter.workspaces.list(friendly_name=f"ws-{uid}-renamed") == []


def test_workspace_template_fifo_adds_a_queue_and_a_workflow(taskrouter, uid):
    created = taskrouter.workspaces.create(friendly_name=f"fifo-{uid}", template="FIFO")
    ctx = taskrouter.workspaces(created.sid)
    try:
        queues = ctx.task_queues.list()
        workflows = ctx.workflows.list()
        assert len(queues) == 1
        assert len(workflows) == 1
        config = json.loads(workflows[0].configuration)
        routed_to = {t["queue"] for f in config["task_routing"].get("filters", []) for t in f["targets"]}
        default = config["task_routing"].get("default_filter")
        if default:
            routed_to.add(default["queue"])
        assert routed_to == {queues[0].sid}
    finally:
        ctx.delete()


# ---------------------------------------------------------------- activities


def test_activities_crud(ws, uid):
    defaults = ws.activities.list()
    assert {a.friendly_name for a in defaults} >= FLEX_ACTIVITIES
    by_name = {a.friendly_name: a for a in defaults}
    assert by_name["Available"].available is True
    assert by_name["Offline"].available is False
    for a in defaults:
        assert_sid(a.sid, "WA")

    lunch = ws.activities.create(friendly_name=f"Lunch {uid}", available=False)
    assert_sid(lunch.sid, "WA")
    assert lunch.friendly_name == f"Lunch {uid}"
    assert lunch.available is False
    assert lunch.workspace_sid == ws._solution["sid"]
    assert_date(lunch.date_created)
    assert lunch.url.endswith(f"/Activities/{lunch.sid}")

    fetched = ws.activities(lunch.sid).fetch()
    assert (fetched.sid, fetched.friendly_name, fetched.available) == (
        lunch.sid,
        f"Lunch {uid}",
        False,
    )

    renamed = ws.activities(lunch.sid).update(friendly_name=f"Long lunch {uid}")
    assert renamed.friendly_name == f"Long lunch {uid}"
    assert renamed.available is False

    only = ws.activities.list(friendly_name=f"Long lunch {uid}")
    assert [a.sid for a in only] == [lunch.sid]
    available = ws.activities.list(available="true")
    assert available and all(a.available for a in available)
    assert "Available" in {a.friendly_name for a in available}
    assert lunch.sid not in {a.sid for a in available}

    assert ws.activities(lunch.sid).delete() is True
    with expect_error(404, 20404):
        ws.activities(lunch.sid).fetch()


# ---------------------------------------------------------------- task channels


def test_task_channels_list_and_fetch_by_unique_name(ws):
    channels = ws.task_channels.list()
    names = {c.unique_name for c in channels}
    assert names >= {"default", "voice", "sms", "chat", "video"}
    for c in channels:
        assert_sid(c.sid, "TC")

    chat = ws.task_channels("chat").fetch()
    assert_sid(chat.sid, "TC")
    assert chat.unique_name == "chat"
    assert chat.workspace_sid == ws._solution["sid"]
    assert_date(chat.date_created)
    assert ws.task_channels(chat.sid).fetch().unique_name == "chat"


# ---------------------------------------------------------------- workers


def test_workers_create_update_list_delete(ws, uid):
    attrs = {"routing": {"skills": ["sales"], "levels": {"sales": 3}}, "contact_uri": "client:bob"}
    bob = ws.workers.create(friendly_name=f"bob-{uid}", attributes=json.dumps(attrs))
    assert_sid(bob.sid, "WK")
    assert bob.friendly_name == f"bob-{uid}"
    same_json(bob.attributes, attrs)
    # Default activity of a new workspace: Offline.
    assert bob.activity_name == "Offline"
    assert bob.available is False
    assert_sid(bob.activity_sid, "WA")
    assert_date(bob.date_created)
    assert bob.url.endswith(f"/Workers/{bob.sid}")

    carol = make_worker(ws, f"carol-{uid}", {"routing": {"skills": ["support"]}})
    assert carol.activity_name == "Available"
    assert carol.available is True

    moved = ws.workers(bob.sid).update(activity_sid=activity_sid(ws, "Available"))
    assert moved.activity_name == "Available"
    assert moved.available is True
    assert ws.workers(bob.sid).fetch().activity_name == "Available"

    new_attrs = {"routing": {"skills": ["sales", "support"]}, "contact_uri": "client:bob"}
    changed = ws.workers(bob.sid).update(attributes=json.dumps(new_attrs))
    same_json(changed.attributes, new_attrs)
    same_json(ws.workers(bob.sid).fetch().attributes, new_attrs)

    ws.workers(carol.sid).update(activity_sid=activity_sid(ws, "Break"))

    def names(**filters):
        return {w.friendly_name for w in ws.workers.list(**filters)}

    assert names() == {f"bob-{uid}", f"carol-{uid}"}
    assert names(activity_name="Available") == {f"bob-{uid}"}
    assert names(activity_name="Break") == {f"carol-{uid}"}
    assert names(available="true") == {f"bob-{uid}"}
    assert names(available="false") == {f"carol-{uid}"}
    assert names(target_workers_expression="routing.skills HAS 'sales'") == {f"bob-{uid}"}
    assert names(target_workers_expression="routing.skills HAS 'support'") == {
        f"bob-{uid}",
        f"carol-{uid}",
    }
    assert names(friendly_name=f"carol-{uid}") == {f"carol-{uid}"}

    assert ws.workers(carol.sid).delete() is True
    with expect_error(404, 20404):
        ws.workers(carol.sid).fetch()
    assert names() == {f"bob-{uid}"}


def test_worker_bad_attributes_is_400(ws, uid):
    with pytest.raises(TwilioRestException) as info:
        ws.workers.create(friendly_name=f"bad-{uid}", attributes="{not json")
    assert info.value.status == 400


# ---------------------------------------------------------------- worker channels


def test_worker_channels_list_fetch_update(ws, uid):
    worker = make_worker(ws, f"dora-{uid}")
    channels = ws.workers(worker.sid).worker_channels.list()
    assert {c.task_channel_unique_name for c in channels} >= {"default", "voice", "chat"}
    for c in channels:
        assert_sid(c.sid, "WC")
        assert_sid(c.task_channel_sid, "TC")
        assert c.worker_sid == worker.sid

    chat = ws.workers(worker.sid).worker_channels("chat").fetch()
    assert chat.task_channel_unique_name == "chat"
    assert chat.configured_capacity == 1
    assert chat.assigned_tasks == 0
    assert chat.available is True
    assert chat.available_capacity_percentage == 100
    assert_date(chat.date_created)
    assert ws.workers(worker.sid).worker_channels(chat.sid).fetch().sid == chat.sid

    updated = ws.workers(worker.sid).worker_channels("chat").update(capacity=3)
    assert updated.configured_capacity == 3
    assert ws.workers(worker.sid).worker_channels("chat").fetch().configured_capacity == 3

    off = ws.workers(worker.sid).worker_channels("chat").update(available=False)
    assert off.available is False
    assert off.available_capacity_percentage == 0


# ---------------------------------------------------------------- task queues


def test_task_queues_crud(ws, uid):
    reserve = activity_sid(ws, "Unavailable")
    queue = ws.task_queues.create(
        friendly_name=f"Sales {uid}",
        target_workers="routing.skills HAS 'sales'",
        max_reserved_workers=2,
        task_order="LIFO",
        reservation_activity_sid=reserve,
    )
    assert_sid(queue.sid, "WQ")
    assert queue.friendly_name == f"Sales {uid}"
    assert queue.target_workers == "routing.skills HAS 'sales'"
    assert queue.max_reserved_workers == 2
    assert queue.task_order == "LIFO"
    assert queue.reservation_activity_sid == reserve
    assert queue.reservation_activity_name == "Unavailable"
    assert queue.workspace_sid == ws._solution["sid"]
    assert_date(queue.date_created)
    assert queue.url.endswith(f"/TaskQueues/{queue.sid}")

    default = ws.task_queues.create(friendly_name=f"Everyone {uid}")
    assert default.target_workers == "1==1"
    assert default.max_reserved_workers == 1
    assert default.task_order == "FIFO"

    fetched = ws.task_queues(queue.sid).fetch()
    assert fetched.target_workers == "routing.skills HAS 'sales'"

    updated = ws.task_queues(queue.sid).update(
        friendly_name=f"Sales EU {uid}",
        target_workers="routing.skills HAS 'sales' AND region == 'eu'",
        max_reserved_workers=1,
        task_order="FIFO",
    )
    assert updated.friendly_name == f"Sales EU {uid}"
    assert updated.target_workers == "routing.skills HAS 'sales' AND region == 'eu'"
    assert updated.max_reserved_workers == 1
    assert updated.task_order == "FIFO"

    assert [q.sid for q in ws.task_queues.list(friendly_name=f"Sales EU {uid}")] == [queue.sid]
    assert {q.sid for q in ws.task_queues.list()} == {queue.sid, default.sid}
    would_take = ws.task_queues.list(
        evaluate_worker_attributes=json.dumps({"routing": {"skills": ["sales"]}, "region": "eu"})
    )
    assert {q.sid for q in would_take} == {queue.sid, default.sid}
    would_take = ws.task_queues.list(
        evaluate_worker_attributes=json.dumps({"routing": {"skills": ["sales"]}, "region": "us"})
    )
    assert {q.sid for q in would_take} == {default.sid}

    assert ws.task_queues(queue.sid).delete() is True
    with expect_error(404, 20404):
        ws.task_queues(queue.sid).fetch()


@pytest.mark.parametrize(
    "expression",
    ["routing.skills HAS", "skills HAS 'a' AND", "level >> 3", "(a == 1", "a-b == 1"],
)
def test_task_queue_bad_target_workers_is_400_and_says_where(ws, uid, expression):
    with pytest.raises(TwilioRestException) as info:
        ws.task_queues.create(friendly_name=f"Bad {uid}", target_workers=expression)
    err = info.value
    assert err.status == 400, err
    assert "TargetWorkers" in err.msg, err.msg
    assert re.search(r"(column|position|offset|char(acter)?)\s*\d+", err.msg, re.I), err.msg
    assert ws.task_queues.list(friendly_name=f"Bad {uid}") == []


def test_task_queue_max_reserved_workers_out_of_range_is_400(ws, uid):
    for bad in (0, 51):
        with pytest.raises(TwilioRestException) as info:
            ws.task_queues.create(friendly_name=f"Q{bad} {uid}", max_reserved_workers=bad)
        assert info.value.status == 400


# ---------------------------------------------------------------- workflows


def test_workflows_crud_with_known_agent_and_skills_config(ws, uid):
    all_q = ws.task_queues.create(friendly_name=f"All {uid}")
    pay_q = ws.task_queues.create(
        friendly_name=f"Payments {uid}", target_workers="routing.levels.payments > 0"
    )
    config = config_b(all_q.sid, pay_q.sid)
    wf = ws.workflows.create(
        friendly_name=f"Known agent + skills {uid}",
        configuration=json.dumps(config),
        assignment_callback_url="https://example.com/assign",
        fallback_assignment_callback_url="https://example.com/assign-fallback",
        task_reservation_timeout=60,
    )
    assert_sid(wf.sid, "WW")
    assert wf.friendly_name == f"Known agent + skills {uid}"
    assert json.loads(wf.configuration) == config
    assert wf.assignment_callback_url == "https://example.com/assign"
    assert wf.fallback_assignment_callback_url == "https://example.com/assign-fallback"
    assert wf.task_reservation_timeout == 60
    assert wf.document_content_type == "application/json"
    assert wf.workspace_sid == ws._solution["sid"]
    assert_date(wf.date_created)
    assert wf.url.endswith(f"/Workflows/{wf.sid}")

    default_timeout = ws.workflows.create(friendly_name=f"Anyone {uid}", configuration=anyone(all_q.sid))
    assert default_timeout.task_reservation_timeout == 120

    fetched = ws.workflows(wf.sid).fetch()
    assert json.loads(fetched.configuration) == config

    minimal = json.loads(anyone(pay_q.sid))
    updated = ws.workflows(wf.sid).update(
        friendly_name=f"Payments only {uid}",
        configuration=json.dumps(minimal),
        task_reservation_timeout=30,
    )
    assert updated.friendly_name == f"Payments only {uid}"
    assert json.loads(updated.configuration) == minimal
    assert updated.task_reservation_timeout == 30

    assert [w.sid for w in ws.workflows.list(friendly_name=f"Payments only {uid}")] == [wf.sid]
    assert {w.sid for w in ws.workflows.list()} == {wf.sid, default_timeout.sid}

    assert ws.workflows(wf.sid).delete() is True
    with expect_error(404, 20404):
        ws.workflows(wf.sid).fetch()


def test_workflow_known_agent_config_routes_to_the_named_worker(ws, uid):
    all_q = ws.task_queues.create(friendly_name=f"All {uid}")
    pay_q = ws.task_queues.create(
        friendly_name=f"Payments {uid}", target_workers="routing.levels.payments > 0"
    )
    wf = ws.workflows.create(
        friendly_name=f"B {uid}", configuration=json.dumps(config_b(all_q.sid, pay_q.sid))
    )
    first = make_worker(ws, f"first-{uid}")
    wanted = make_worker(ws, f"wanted-{uid}")
    task = ws.tasks.create(
        workflow_sid=wf.sid,
        task_channel="chat",
        attributes=json.dumps(
            {"KnownAgentRoutingFlag": "true", "KnownAgentWorkerFriendlyName": f"wanted-{uid}"}
        ),
    )
    offers = wait_for("a reservation", lambda: pending_reservations(ws, task.sid))
    assert [r.worker_sid for r in offers] == [wanted.sid]
    assert first.sid not in {r.worker_sid for r in ws.tasks(task.sid).reservations.list()}


@pytest.mark.parametrize(
    "make_config",
    [
        lambda q: "{not json",
        lambda q: json.dumps({"task_routing": {"filters": [], "default_filter": {"queue": "WQ" + "0" * 32}}}),
        lambda q: json.dumps(
            {
                "task_routing": {
                    "filters": [{"expression": "type == ", "targets": [{"queue": q}]}],
                    "default_filter": {"queue": q},
                }
            }
        ),
        lambda q: json.dumps({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": "nope"}]}]}}),
    ],
    ids=["not-json", "unknown-queue", "bad-expression", "not-a-queue-sid"],
)
def test_workflow_bad_configuration_is_400(ws, uid, make_config):
    queue = ws.task_queues.create(friendly_name=f"Q {uid}")
    with pytest.raises(TwilioRestException) as info:
        ws.workflows.create(friendly_name=f"Bad {uid}", configuration=make_config(queue.sid))
    assert info.value.status == 400, info.value
    assert ws.workflows.list(friendly_name=f"Bad {uid}") == []


# ---------------------------------------------------------------- tasks


def test_tasks_create_fetch_update_list_delete(ws, uid):
    sales = ws.task_queues.create(friendly_name=f"Sales {uid}", target_workers="routing.skills HAS 'sales'")
    support = ws.task_queues.create(friendly_name=f"Support {uid}", target_workers="routing.skills HAS 'support'")
    wf = ws.workflows.create(
        friendly_name=f"By type {uid}",
        configuration=json.dumps(
            {
                "task_routing": {
                    "filters": [
                        {"expression": "type == 'sales'", "targets": [{"queue": sales.sid}]},
                        {"expression": "type == 'support'", "targets": [{"queue": support.sid}]},
                    ],
                    "default_filter": {"queue": support.sid},
                }
            }
        ),
    )
    attrs = {"type": "sales", "customer": f"c-{uid}", "nested": {"tier": "gold"}}
    task = ws.tasks.create(
        workflow_sid=wf.sid,
        task_channel="chat",
        attributes=json.dumps(attrs),
        priority=7,
        timeout=3600,
    )
    assert_sid(task.sid, "WT")
    assert task.assignment_status == "pending"  # nobody is available in a new workspace
    same_json(task.attributes, attrs)
    assert task.priority == 7
    assert task.timeout == 3600
    assert task.task_channel_unique_name == "chat"
    assert_sid(task.task_channel_sid, "TC")
    assert task.workflow_sid == wf.sid
    assert task.workflow_friendly_name == f"By type {uid}"
    assert task.task_queue_sid == sales.sid
    assert task.task_queue_friendly_name == f"Sales {uid}"
    assert task.workspace_sid == ws._solution["sid"]
    assert isinstance(task.age, int)
    assert_date(task.date_created)
    assert task.url.endswith(f"/Tasks/{task.sid}")

    fetched = ws.tasks(task.sid).fetch()
    assert fetched.sid == task.sid
    assert fetched.task_queue_sid == sales.sid

    other = ws.tasks.create(
        workflow_sid=wf.sid, task_channel="chat", attributes=json.dumps({"type": "support"})
    )
    assert other.task_queue_sid == support.sid

    # New attributes re-route a waiting task; priority changes.
    new_attrs = {"type": "support", "customer": f"c-{uid}"}
    updated = ws.tasks(task.sid).update(attributes=json.dumps(new_attrs), priority=9)
    same_json(updated.attributes, new_attrs)
    assert updated.priority == 9
    fetched = wait_for(
        "the task to move queue",
        lambda: (t := ws.tasks(task.sid).fetch()).task_queue_sid == support.sid and t,
    )
    assert fetched.task_queue_friendly_name == f"Support {uid}"

    def sids(**filters):
        return {t.sid for t in ws.tasks.list(**filters)}

    assert sids() == {task.sid, other.sid}
    assert sids(assignment_status=["pending"]) == {task.sid, other.sid}
    assert sids(task_queue_sid=support.sid) == {task.sid, other.sid}
    assert sids(task_queue_sid=sales.sid) == set()
    assert sids(evaluate_task_attributes=f"customer == 'c-{uid}'") == {task.sid}
    assert sids(evaluate_task_attributes="type == 'support'") == {task.sid, other.sid}
    assert sids(workflow_sid=wf.sid) == {task.sid, other.sid}

    canceled = ws.tasks(task.sid).update(assignment_status="canceled", reason="customer left")
    assert canceled.assignment_status == "canceled"
    assert canceled.reason == "customer left"
    assert ws.tasks(task.sid).fetch().assignment_status == "canceled"
    assert sids(assignment_status=["canceled"]) == {task.sid}
    assert sids(assignment_status=["pending", "canceled"]) == {task.sid, other.sid}

    assert ws.tasks(other.sid).delete() is True
    with expect_error(404, 20404):
        ws.tasks(other.sid).fetch()
    assert sids() == {task.sid}


def test_task_with_bad_attributes_is_400(ws, uid):
    queue = ws.task_queues.create(friendly_name=f"Q {uid}")
    wf = ws.workflows.create(friendly_name=f"W {uid}", configuration=anyone(queue.sid))
    with pytest.raises(TwilioRestException) as info:
        ws.tasks.create(workflow_sid=wf.sid, attributes="[1, 2")
    assert info.value.status == 400


# ---------------------------------------------------------------- reservations


def test_reservation_views_accept_wrap_complete(ws, routed):
    worker, task, r = routed["worker"], routed["task"], routed["reservation"]
    assert_sid(r.sid, "WR")
    assert r.task_sid == task.sid
    assert r.worker_sid == worker.sid
    assert r.worker_name == worker.friendly_name
    assert r.reservation_status == "pending"
    assert r.workspace_sid == ws._solution["sid"]
    assert_date(r.date_created)
    assert r.url.endswith(f"/Reservations/{r.sid}")
    assert set(r.links) >= {"task", "worker", "workspace"}
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"

    # Task view and worker view show the same reservation.
    assert [x.sid for x in ws.tasks(task.sid).reservations.list()] == [r.sid]
    assert [x.sid for x in ws.tasks(task.sid).reservations.list(reservation_status="pending")] == [r.sid]
    assert [x.sid for x in ws.tasks(task.sid).reservations.list(worker_sid=worker.sid)] == [r.sid]
    assert ws.tasks(task.sid).reservations.list(reservation_status="accepted") == []
    assert [x.sid for x in ws.workers(worker.sid).reservations.list()] == [r.sid]
    assert [
        x.sid for x in ws.workers(worker.sid).reservations.list(reservation_status="pending")
    ] == [r.sid]
    assert ws.tasks(task.sid).reservations(r.sid).fetch().reservation_status == "pending"
    assert ws.workers(worker.sid).reservations(r.sid).fetch().task_sid == task.sid

    chat = ws.workers(worker.sid).worker_channels("chat").fetch()
    assert chat.assigned_tasks == 1
    assert chat.available_capacity_percentage == 0

    accepted = ws.tasks(task.sid).reservations(r.sid).update(reservation_status="accepted")
    assert accepted.reservation_status == "accepted"
    assert ws.workers(worker.sid).reservations(r.sid).fetch().reservation_status == "accepted"
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"

    wrapping = ws.tasks(task.sid).update(assignment_status="wrapping")
    assert wrapping.assignment_status == "wrapping"
    assert ws.tasks(task.sid).reservations(r.sid).fetch().reservation_status == "wrapping"

    done = ws.tasks(task.sid).update(assignment_status="completed", reason="resolved")
    assert done.assignment_status == "completed"
    assert done.reason == "resolved"
    assert ws.tasks(task.sid).reservations(r.sid).fetch().reservation_status == "completed"
    assert ws.workers(worker.sid).worker_channels("chat").fetch().assigned_tasks == 0


def test_reservation_completed_from_worker_view(ws, routed):
    worker, task, r = routed["worker"], routed["task"], routed["reservation"]
    ws.workers(worker.sid).reservations(r.sid).update(reservation_status="accepted")
    done = ws.workers(worker.sid).reservations(r.sid).update(reservation_status="completed")
    assert done.reservation_status == "completed"
    assert ws.tasks(task.sid).fetch().assignment_status == "completed"


def test_reservation_rejected_goes_back_to_pending(ws, routed):
    worker, task, r = routed["worker"], routed["task"], routed["reservation"]
    offline = activity_sid(ws, "Offline")
    rejected = ws.workers(worker.sid).reservations(r.sid).update(
        reservation_status="rejected", worker_activity_sid=offline
    )
    assert rejected.reservation_status == "rejected"
    assert ws.tasks(task.sid).reservations(r.sid).fetch().reservation_status == "rejected"
    assert ws.workers(worker.sid).fetch().activity_name == "Offline"
    # Nobody else can take it: back to pending, no new offer to the same worker.
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"
    assert pending_reservations(ws, task.sid) == []
    with pytest.raises(TwilioRestException) as info:
        ws.tasks(task.sid).reservations(r.sid).update(reservation_status="accepted")
    assert 400 <= info.value.status < 500


def test_unknown_reservation_is_404(ws, routed):
    task = routed["task"]
    with expect_error(404, 20404):
        ws.tasks(task.sid).reservations("WR" + "0" * 32).fetch()


# ---------------------------------------------------------------- events


def test_events_list_filter_and_fetch(ws, routed):
    task, r = routed["task"], routed["reservation"]
    ws.tasks(task.sid).reservations(r.sid).update(reservation_status="accepted")

    events = ws.events.list(task_sid=task.sid)
    types = [e.event_type for e in events]
    assert "task.created" in types
    assert "reservation.created" in types
    assert "reservation.accepted" in types
    for e in events:
        assert_sid(e.sid, "EV")
        assert_date(e.event_date)
        assert isinstance(e.event_date_ms, int)
        assert isinstance(e.event_data, dict)
        assert e.workspace_sid == ws._solution["sid"]

    created = ws.events.list(task_sid=task.sid, event_type="task.created")
    assert len(created) == 1
    ev = created[0]
    assert ev.resource_type == "task"
    assert ev.resource_sid == task.sid
    assert ev.event_data.get("task_sid") == task.sid
    assert isinstance(ev.description, str)

    fetched = ws.events(ev.sid).fetch()
    assert fetched.sid == ev.sid
    assert fetched.event_type == "task.created"
    assert fetched.resource_sid == task.sid

    accepted = ws.events.list(event_type="reservation.accepted", reservation_sid=r.sid)
    assert [e.resource_sid for e in accepted] == [r.sid]
    assert accepted[0].resource_type == "reservation"


# ---------------------------------------------------------------- statistics


def test_real_time_statistics(ws, routed, uid):
    queue, worker = routed["queue"], routed["worker"]
    # A second task waits: the only worker has capacity 1 on chat.
    ws.tasks.create(
        workflow_sid=routed["workflow"].sid,
        task_channel="chat",
        attributes=json.dumps({"type": "support"}),
    )
    make_worker(ws, f"idle-{uid}", {"routing": {"skills": ["sales"]}}, activity="Break")

    stats = ws.real_time_statistics().fetch()
    assert stats.workspace_sid == ws._solution["sid"]
    assert stats.total_workers == 2
    assert stats.total_tasks == 2
    assert stats.tasks_by_status["reserved"] == 1
    assert stats.tasks_by_status["pending"] == 1
    by_activity = {a["friendly_name"]: a["workers"] for a in stats.activity_statistics}
    assert by_activity["Available"] == 1
    assert by_activity["Break"] == 1
    assert isinstance(stats.longest_task_waiting_age, int)

    qstats = ws.task_queues(queue.sid).real_time_statistics().fetch()
    assert qstats.task_queue_sid == queue.sid
    assert qstats.total_eligible_workers == 1
    assert qstats.total_available_workers == 1
    assert qstats.total_tasks == 2
    assert qstats.tasks_by_status["pending"] == 1
    assert qstats.tasks_by_status["reserved"] == 1

    wstats = ws.workers.real_time_statistics().fetch()
    assert wstats.total_workers == 2
    by_activity = {a["friendly_name"]: a["workers"] for a in wstats.activity_statistics}
    assert by_activity["Available"] == 1
    assert by_activity["Break"] == 1
    assert worker.sid  # the routed worker is the Available one


def test_cumulative_statistics(ws, routed):
    task, r = routed["task"], routed["reservation"]
    ws.tasks(task.sid).reservations(r.sid).update(reservation_status="accepted")
    ws.tasks(task.sid).update(assignment_status="completed", reason="done")

    stats = ws.cumulative_statistics().fetch()
    assert stats.workspace_sid == ws._solution["sid"]
    assert stats.tasks_created == 1
    assert stats.tasks_completed == 1
    assert stats.reservations_created == 1
    assert stats.reservations_accepted == 1
    assert stats.tasks_canceled == 0
