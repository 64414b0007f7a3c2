//! Unit tests of the pure routing engine: matching, ordering, capacity, multi-reserve,
//! reject/timeout re-routing, workflow steps, skip_if, known workers, TTL and reload.

use serde_json::json;

use super::ops::{QueueSpec, WorkflowSpec, WorkspaceSpec};
use super::*;
use crate::routing::model::QueueOrder;

const T0: Millis = 1_700_000_000_000;

struct Fixture {
    engine: Engine,
    available: ActivitySid,
    offline: ActivitySid,
}

fn fixture() -> Fixture {
    let engine = Engine::new_workspace(
        "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("sid"),
        "Test".into(),
        WorkspaceSpec::default(),
        T0,
    );
    let available = engine.activity_named("Available").expect("available");
    let offline = engine.activity_named("Offline").expect("offline");
    Fixture {
        engine,
        available,
        offline,
    }
}

impl Fixture {
    fn queue(&mut self, name: &str, target: &str, max_reserved: u32) -> TaskQueueSid {
        self.engine
            .create_queue(
                QueueSpec {
                    friendly_name: Some(name.into()),
                    target_workers: Some(target.into()),
                    max_reserved_workers: Some(max_reserved),
                    ..Default::default()
                },
                T0,
            )
            .expect("queue")
    }

    fn workflow(&mut self, config: serde_json::Value, timeout: u32) -> WorkflowSid {
        self.engine
            .create_workflow(
                WorkflowSpec {
                    friendly_name: Some(format!("wf{}", self.engine.workflows.len())),
                    configuration: Some(config.to_string()),
                    task_reservation_timeout: Some(timeout),
                    ..Default::default()
                },
                T0,
            )
            .expect("workflow")
    }

    fn worker(&mut self, name: &str, attrs: serde_json::Value, at: Millis) -> WorkerSid {
        self.engine
            .create_worker(
                name.into(),
                Some(self.available.clone()),
                Some(attrs.to_string()),
                at,
            )
            .expect("worker")
    }

    fn task(&mut self, wf: &WorkflowSid, attrs: serde_json::Value, at: Millis) -> TaskSid {
        self.engine
            .create_task(
                TaskCreate {
                    attributes: Some(attrs.to_string()),
                    workflow_sid: Some(wf.clone()),
                    task_channel: Some("chat".into()),
                    ..Default::default()
                },
                at,
            )
            .expect("task")
    }

    fn pending_of(&self, worker: &WorkerSid) -> Vec<Reservation> {
        self.engine
            .reservations_of_worker(worker)
            .into_iter()
            .filter(|r| r.status == ReservationStatus::Pending)
            .cloned()
            .collect()
    }

    fn status(&self, task: &TaskSid) -> TaskStatus {
        self.engine.tasks[task].status
    }
}

fn anyone(queue: &TaskQueueSid) -> serde_json::Value {
    json!({"task_routing": {"filters": [], "default_filter": {"queue": queue}}})
}

#[test]
fn skills_decide_who_gets_the_offer() {
    let mut f = fixture();
    let sales = f.queue("Sales", "routing.skills HAS 'sales'", 1);
    let support = f.queue("Support", "routing.skills HAS 'support'", 1);
    let wf = f.workflow(
        json!({"task_routing": {"filters": [
            {"expression": "type == 'sales'", "targets": [{"queue": sales}]},
            {"expression": "type == 'support'", "targets": [{"queue": support}]}]}}),
        120,
    );
    let alice = f.worker("alice", json!({"routing": {"skills": ["sales"]}}), T0);
    let bob = f.worker("bob", json!({"routing": {"skills": ["support"]}}), T0);
    let t = f.task(&wf, json!({"type": "support"}), T0 + 10);
    assert_eq!(f.status(&t), TaskStatus::Reserved);
    assert!(f.pending_of(&alice).is_empty());
    assert_eq!(f.pending_of(&bob).len(), 1);
    assert_eq!(f.engine.tasks[&t].queue_sid.as_ref(), Some(&support));
}

#[test]
fn higher_priority_then_older_tasks_go_first() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 120);
    let old_low = f.task(&wf, json!({}), T0 + 1);
    let new_high = f
        .engine
        .create_task(
            TaskCreate {
                workflow_sid: Some(wf.clone()),
                task_channel: Some("chat".into()),
                priority: Some(10),
                ..Default::default()
            },
            T0 + 2,
        )
        .expect("task");
    let old_high = f
        .engine
        .create_task(
            TaskCreate {
                workflow_sid: Some(wf.clone()),
                task_channel: Some("chat".into()),
                priority: Some(10),
                virtual_start: Some(T0),
                ..Default::default()
            },
            T0 + 3,
        )
        .expect("task");
    let w = f.worker("w", json!({}), T0 + 4);
    let offered: Vec<TaskSid> = f.pending_of(&w).into_iter().map(|r| r.task_sid).collect();
    assert_eq!(offered, vec![old_high.clone()]);
    // Complete it and the next best comes: the other priority-10 task, then the old one.
    let r = f.pending_of(&w)[0].sid.clone();
    f.engine
        .answer_reservation(&r, ReservationStatus::Accepted, None, T0 + 5)
        .expect("accept");
    f.engine
        .answer_reservation(&r, ReservationStatus::Completed, None, T0 + 6)
        .expect("complete");
    assert_eq!(f.pending_of(&w)[0].task_sid, new_high);
    let r = f.pending_of(&w)[0].sid.clone();
    f.engine
        .answer_reservation(&r, ReservationStatus::Rejected, None, T0 + 7)
        .expect("reject");
    // The rejected task is not offered to the same worker again in this step.
    assert_eq!(f.pending_of(&w)[0].task_sid, old_low);
}

#[test]
fn capacity_is_never_exceeded_and_freed_capacity_is_reused() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 120);
    let w = f.worker("w", json!({}), T0);
    f.engine
        .update_worker_channel(&w, "chat", Some(2), None, T0)
        .expect("capacity");
    let tasks: Vec<TaskSid> = (0..5).map(|i| f.task(&wf, json!({}), T0 + i)).collect();
    assert_eq!(f.pending_of(&w).len(), 2);
    let chat = f.engine.channel_by_key("chat").expect("chat").sid.clone();
    assert_eq!(f.engine.load_on(&w, &chat), 2);
    for r in f.pending_of(&w) {
        f.engine
            .answer_reservation(&r.sid, ReservationStatus::Accepted, None, T0 + 10)
            .expect("accept");
    }
    assert_eq!(f.engine.load_on(&w, &chat), 2);
    assert!(f.pending_of(&w).is_empty());
    assert_eq!(f.status(&tasks[2]), TaskStatus::Pending);
    f.engine
        .update_task(
            &tasks[0],
            TaskUpdate {
                status: Some(TaskStatus::Completed),
                ..Default::default()
            },
            T0 + 20,
        )
        .expect("complete");
    assert_eq!(f.pending_of(&w).len(), 1);
    assert_eq!(f.pending_of(&w)[0].task_sid, tasks[2]);
    // A capacity increase offers more at once.
    f.engine
        .update_worker_channel(&w, "chat", Some(4), None, T0 + 30)
        .expect("capacity");
    assert_eq!(f.engine.load_on(&w, &chat), 4);
}

#[test]
fn multi_reserve_rescinds_the_others_on_first_accept() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 3);
    let wf = f.workflow(anyone(&q), 120);
    let workers: Vec<WorkerSid> = (0..3)
        .map(|i| f.worker(&format!("w{i}"), json!({}), T0 + i))
        .collect();
    let t = f.task(&wf, json!({}), T0 + 10);
    let offers: Vec<Reservation> = workers.iter().flat_map(|w| f.pending_of(w)).collect();
    assert_eq!(offers.len(), 3);
    f.engine
        .answer_reservation(&offers[1].sid, ReservationStatus::Accepted, None, T0 + 11)
        .expect("accept");
    let statuses: Vec<ReservationStatus> = offers
        .iter()
        .map(|r| f.engine.reservations[&r.sid].status)
        .collect();
    assert_eq!(
        statuses,
        vec![
            ReservationStatus::Rescinded,
            ReservationStatus::Accepted,
            ReservationStatus::Rescinded
        ]
    );
    assert_eq!(f.status(&t), TaskStatus::Assigned);
    let second = f
        .engine
        .answer_reservation(&offers[0].sid, ReservationStatus::Accepted, None, T0 + 12)
        .expect_err("rescinded");
    assert!(matches!(second, RoutingError::Conflict(_)));
}

#[test]
fn longest_idle_worker_is_chosen() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 120);
    let recent = f.worker("recent", json!({}), T0 + 100);
    let idle = f.worker("idle", json!({}), T0);
    let _ = recent;
    f.task(&wf, json!({}), T0 + 200);
    assert_eq!(f.pending_of(&idle).len(), 1);
}

#[test]
fn order_by_beats_idle_time() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(
        json!({"task_routing": {"filters": [{"expression": "1==1",
            "targets": [{"queue": q, "order_by": "worker.level DESC"}]}]}}),
        120,
    );
    let _low = f.worker("low", json!({"level": 1}), T0);
    let high = f.worker("high", json!({"level": 9}), T0 + 50);
    f.task(&wf, json!({}), T0 + 100);
    assert_eq!(f.pending_of(&high).len(), 1);
}

#[test]
fn reservation_timeout_moves_the_worker_offline_and_reroutes() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 30);
    let slow = f.worker("slow", json!({}), T0);
    let fast = f.worker("fast", json!({}), T0 + 1);
    let t = f.task(&wf, json!({}), T0 + 10);
    let first = f.pending_of(&slow);
    assert_eq!(first.len(), 1);
    assert_eq!(f.engine.next_deadline(), Some(T0 + 10 + 30_000));
    f.engine.tick(T0 + 10 + 30_000);
    assert_eq!(
        f.engine.reservations[&first[0].sid].status,
        ReservationStatus::Timeout
    );
    assert_eq!(f.engine.workers[&slow].activity_sid, f.offline);
    assert_eq!(f.pending_of(&fast).len(), 1);
    assert_eq!(f.status(&t), TaskStatus::Reserved);
    let changes = f.engine.take_changes();
    let types: Vec<&str> = changes.events.iter().map(|e| e.event_type).collect();
    assert!(types.contains(&"reservation.timeout"), "{types:?}");
    assert!(types.contains(&"worker.activity.update"), "{types:?}");
}

#[test]
fn reject_with_activity_moves_the_worker() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 30);
    let w = f.worker("w", json!({}), T0);
    let t = f.task(&wf, json!({}), T0 + 10);
    let r = f.pending_of(&w)[0].sid.clone();
    let brk = f.engine.activity_named("Break").expect("break");
    f.engine
        .answer_reservation(&r, ReservationStatus::Rejected, Some(brk.clone()), T0 + 11)
        .expect("reject");
    assert_eq!(f.engine.workers[&w].activity_sid, brk);
    assert_eq!(f.status(&t), TaskStatus::Pending);
}

#[test]
fn escalation_through_targets_then_workflow_timeout() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(
        json!({"task_routing": {"filters": [{"expression": "1==1", "targets": [
            {"queue": q, "expression": "worker.tier == 1", "timeout": 10},
            {"queue": q, "expression": "worker.tier == 2", "timeout": 10, "priority": 7}]}]}}),
        120,
    );
    let tier2 = f.worker("t2", json!({"tier": 2}), T0);
    let t = f.task(&wf, json!({}), T0 + 1);
    assert!(f.pending_of(&tier2).is_empty(), "step 1 is tier 1 only");
    f.engine.tick(T0 + 1 + 10_000);
    assert_eq!(f.pending_of(&tier2).len(), 1, "step 2 reaches tier 2");
    assert_eq!(f.engine.tasks[&t].priority, 7);
    f.engine.tick(T0 + 1 + 20_000);
    assert_eq!(f.status(&t), TaskStatus::Canceled);
    assert_eq!(
        f.engine.tasks[&t].reason.as_deref(),
        Some(assign::WORKFLOW_TIMEOUT_REASON)
    );
    assert!(f.pending_of(&tier2).is_empty(), "the offer was canceled");
}

#[test]
fn skip_if_skips_to_later_filters_and_the_default() {
    let mut f = fixture();
    let vip = f.queue("VIP", "vip == true", 1);
    let all = f.queue("All", "1==1", 1);
    let wf = f.workflow(
        json!({"task_routing": {"filters": [
            {"expression": "1==1", "targets": [{"queue": vip, "skip_if": "workers.available == 0"}]}],
            "default_filter": {"queue": all}}}),
        120,
    );
    let w = f.worker("w", json!({}), T0);
    let t = f.task(&wf, json!({}), T0 + 1);
    assert_eq!(f.engine.tasks[&t].queue_sid.as_ref(), Some(&all));
    assert_eq!(f.pending_of(&w).len(), 1);
    let types: Vec<&str> = f
        .engine
        .take_changes()
        .events
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert!(types.contains(&"workflow.skipped"), "{types:?}");
}

#[test]
fn known_worker_targets_one_worker() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(
        json!({"task_routing": {"filters": [{"expression": "1==1", "targets": [
            {"queue": q, "known_worker_friendly_name": "task.agent"}]}]}}),
        120,
    );
    let _a = f.worker("alice", json!({}), T0);
    let b = f.worker("bob", json!({}), T0 + 10);
    f.task(&wf, json!({"agent": "bob"}), T0 + 20);
    assert_eq!(f.pending_of(&b).len(), 1);
}

#[test]
fn ttl_cancels_a_waiting_task() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 120);
    let t = f
        .engine
        .create_task(
            TaskCreate {
                workflow_sid: Some(wf),
                timeout: Some(5),
                ..Default::default()
            },
            T0,
        )
        .expect("task");
    f.engine.tick(T0 + 5_000);
    assert_eq!(f.status(&t), TaskStatus::Canceled);
    assert_eq!(
        f.engine.tasks[&t].reason.as_deref(),
        Some(assign::TTL_REASON)
    );
}

#[test]
fn becoming_available_and_attribute_changes_trigger_routing() {
    let mut f = fixture();
    let q = f.queue("French", "languages HAS 'fr'", 1);
    let wf = f.workflow(anyone(&q), 120);
    let w = f
        .engine
        .create_worker("w".into(), None, None, T0)
        .expect("offline worker");
    let t = f.task(&wf, json!({}), T0 + 1);
    assert_eq!(f.status(&t), TaskStatus::Pending);
    f.engine
        .update_worker(
            &w,
            WorkerUpdate {
                activity_sid: Some(f.available.clone()),
                ..Default::default()
            },
            T0 + 2,
        )
        .expect("available");
    assert_eq!(
        f.status(&t),
        TaskStatus::Pending,
        "not a French speaker yet"
    );
    f.engine
        .update_worker(
            &w,
            WorkerUpdate {
                attributes: Some(json!({"languages": ["fr"]}).to_string()),
                ..Default::default()
            },
            T0 + 3,
        )
        .expect("attributes");
    assert_eq!(f.status(&t), TaskStatus::Reserved);
}

#[test]
fn task_attribute_change_reevaluates_the_workflow() {
    let mut f = fixture();
    let sales = f.queue("Sales", "team == 'sales'", 1);
    let support = f.queue("Support", "team == 'support'", 1);
    let wf = f.workflow(
        json!({"task_routing": {"filters": [
            {"expression": "type == 'sales'", "targets": [{"queue": sales}]}],
            "default_filter": {"queue": support}}}),
        120,
    );
    let s = f.worker("s", json!({"team": "sales"}), T0);
    let t = f.task(&wf, json!({"type": "billing"}), T0 + 1);
    assert_eq!(f.status(&t), TaskStatus::Pending);
    f.engine
        .update_task(
            &t,
            TaskUpdate {
                attributes: Some(json!({"type": "sales"}).to_string()),
                ..Default::default()
            },
            T0 + 2,
        )
        .expect("update");
    assert_eq!(f.pending_of(&s).len(), 1);
}

#[test]
fn bad_expressions_are_refused_with_their_position() {
    let mut f = fixture();
    let err = f
        .engine
        .create_queue(
            QueueSpec {
                friendly_name: Some("Bad".into()),
                target_workers: Some("skills HAS".into()),
                ..Default::default()
            },
            T0,
        )
        .expect_err("bad");
    let RoutingError::Invalid(message) = err else {
        panic!("not invalid: {err:?}");
    };
    assert!(
        message.contains("TargetWorkers") && message.contains("column 11"),
        "{message}"
    );
}

#[test]
fn reload_keeps_pending_tasks_live_reservations_and_deadlines() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 60);
    let w = f.worker("w", json!({}), T0);
    let t = f.task(&wf, json!({}), T0 + 1);
    let waiting = f.task(&wf, json!({}), T0 + 2);
    let e = &f.engine;
    let mut reloaded = Engine::load(
        e.workspace.clone(),
        e.activities.values().cloned().collect(),
        e.channels.values().cloned().collect(),
        e.workers.values().cloned().collect(),
        e.queues.values().cloned().collect(),
        e.workflows.values().cloned().collect(),
        e.tasks.values().cloned().collect(),
        e.reservations.values().cloned().collect(),
    );
    assert_eq!(reloaded.next_deadline(), Some(T0 + 1 + 60_000));
    let chat = reloaded.channel_by_key("chat").expect("chat").sid.clone();
    assert_eq!(reloaded.load_on(&w, &chat), 1);
    reloaded.tick(T0 + 1 + 60_000);
    assert_eq!(reloaded.tasks[&t].status, TaskStatus::Pending);
    assert_eq!(reloaded.tasks[&waiting].status, TaskStatus::Pending);
    let other = reloaded
        .create_worker("other".into(), Some(f.available.clone()), None, T0 + 70_000)
        .expect("worker");
    // The older task goes first.
    let offered: Vec<TaskSid> = reloaded
        .reservations_of_worker(&other)
        .into_iter()
        .map(|r| r.task_sid.clone())
        .collect();
    assert_eq!(offered, vec![t]);
}

#[test]
fn direct_worker_target_with_ignore_capacity() {
    let mut f = fixture();
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 60);
    let w = f.worker("w", json!({}), T0);
    f.task(&wf, json!({}), T0 + 1);
    assert_eq!(f.pending_of(&w).len(), 1);
    let direct = f
        .engine
        .create_task(
            TaskCreate {
                routing_target: Some(w.to_string()),
                ignore_capacity: true,
                task_channel: Some("chat".into()),
                ..Default::default()
            },
            T0 + 2,
        )
        .expect("direct");
    assert_eq!(f.status(&direct), TaskStatus::Reserved);
    assert_eq!(f.pending_of(&w).len(), 2);
}

#[test]
fn finished_tasks_are_deleted_after_their_retention() {
    let mut f = fixture();
    f.engine.set_retention(60_000);
    let q = f.queue("Everyone", "1==1", 1);
    let wf = f.workflow(anyone(&q), 120);
    let w = f.worker("w", json!({}), T0);
    let done = f.task(&wf, json!({}), T0 + 1);
    let r = f.pending_of(&w)[0].sid.clone();
    f.engine
        .answer_reservation(&r, ReservationStatus::Accepted, None, T0 + 2)
        .expect("accept");
    f.engine
        .answer_reservation(&r, ReservationStatus::Completed, None, T0 + 3)
        .expect("complete");
    let live = f.task(&wf, json!({}), T0 + 4);
    f.engine.take_changes();
    f.engine.tick(T0 + 3 + 59_999);
    assert!(
        f.engine.tasks.contains_key(&done),
        "kept until its retention"
    );
    f.engine.tick(T0 + 3 + 60_000);
    assert!(!f.engine.tasks.contains_key(&done));
    assert!(!f.engine.reservations.contains_key(&r));
    assert!(f.engine.tasks.contains_key(&live), "live tasks stay");
    let removed = f.engine.take_changes().removed;
    assert!(removed.contains(&DocKey::Task(done.clone())), "{removed:?}");
    assert!(removed.contains(&DocKey::Reservation(r)), "{removed:?}");
}

#[test]
fn lifo_queues_serve_the_newest_task_first() {
    let mut f = fixture();
    let q = f
        .engine
        .create_queue(
            QueueSpec {
                friendly_name: Some("Newest".into()),
                target_workers: Some("1==1".into()),
                task_order: Some(QueueOrder::Lifo),
                ..Default::default()
            },
            T0,
        )
        .expect("queue");
    let wf = f.workflow(anyone(&q), 120);
    let _old = f.task(&wf, json!({}), T0 + 1);
    let new = f.task(&wf, json!({}), T0 + 2);
    let w = f.worker("w", json!({}), T0 + 3);
    assert_eq!(f.pending_of(&w)[0].task_sid, new);
}

#[test]
fn single_tasking_workspaces_use_the_queue_activities() {
    let mut f = fixture();
    f.engine
        .update_workspace(
            WorkspaceSpec {
                multi_task_enabled: Some(false),
                ..Default::default()
            },
            T0,
        )
        .expect("single tasking");
    let busy = f
        .engine
        .create_activity("Busy".into(), false, T0)
        .expect("activity");
    let reserved = f
        .engine
        .create_activity("Reserved".into(), false, T0)
        .expect("activity");
    let q = f
        .engine
        .create_queue(
            QueueSpec {
                friendly_name: Some("Q".into()),
                target_workers: Some("1==1".into()),
                reservation_activity_sid: Some(reserved.clone()),
                assignment_activity_sid: Some(busy.clone()),
                ..Default::default()
            },
            T0,
        )
        .expect("queue");
    let wf = f.workflow(anyone(&q), 120);
    let w = f.worker("w", json!({}), T0);
    f.engine
        .update_worker_channel(&w, "chat", Some(3), None, T0)
        .expect("capacity");
    f.task(&wf, json!({}), T0 + 1);
    let second = f.task(&wf, json!({}), T0 + 2);
    assert_eq!(f.engine.workers[&w].activity_sid, reserved);
    let offers = f.pending_of(&w);
    assert_eq!(offers.len(), 1, "one task at a time despite capacity 3");
    f.engine
        .answer_reservation(&offers[0].sid, ReservationStatus::Accepted, None, T0 + 3)
        .expect("accept");
    assert_eq!(f.engine.workers[&w].activity_sid, busy);
    assert_eq!(f.status(&second), TaskStatus::Pending);
}

#[test]
fn a_rescinded_offer_does_not_reset_idle_time() {
    let mut f = fixture();
    let wide = f.queue("Wide", "1==1", 2);
    let narrow = f.queue("Narrow", "1==1", 1);
    let wide_wf = f.workflow(anyone(&wide), 120);
    let narrow_wf = f.workflow(anyone(&narrow), 120);
    let idle_long = f.worker("idle-long", json!({}), T0);
    let idle_short = f.worker("idle-short", json!({}), T0 + 100);
    for w in [&idle_long, &idle_short] {
        f.engine
            .update_worker_channel(w, "chat", Some(2), None, T0 + 100)
            .expect("capacity");
    }
    f.task(&wide_wf, json!({}), T0 + 150);
    let offer = f.pending_of(&idle_short)[0].sid.clone();
    f.engine
        .answer_reservation(&offer, ReservationStatus::Accepted, None, T0 + 200)
        .expect("accept");
    assert!(f.pending_of(&idle_long).is_empty(), "rescinded");
    f.task(&narrow_wf, json!({}), T0 + 300);
    assert_eq!(
        f.pending_of(&idle_long).len(),
        1,
        "still the longest idle after losing an offer"
    );
}
