//! TaskRouter over REST against the real server: the Flex default workspace, skills matching,
//! priority then age, capacity under concurrent accepts, multi-reserve with rescind, reject and
//! timeout re-routing, escalation through targets, skip_if, restart recovery, events with the
//! signed event callback, and refused expressions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{TOKEN, TestServer, eventually};

const WAIT: Duration = Duration::from_secs(10);

/// A workspace handle: `/taskrouter/v1/Workspaces/{WS}` plus its activities.
pub struct Ws {
    /// The workspace's path.
    pub path: String,
    /// Its SID.
    pub sid: String,
}

impl Ws {
    /// A new empty workspace.
    pub fn create(s: &TestServer, name: &str) -> Ws {
        let body = s
            .post("/taskrouter/v1/Workspaces", &[("FriendlyName", name)])
            .expect(201);
        let sid = body["sid"].as_str().expect("sid").to_owned();
        Ws {
            path: format!("/taskrouter/v1/Workspaces/{sid}"),
            sid,
        }
    }

    /// `{path}{rest}`
    pub fn at(&self, rest: &str) -> String {
        format!("{}{rest}", self.path)
    }

    /// The SID of an activity by name.
    pub fn activity(&self, s: &TestServer, name: &str) -> String {
        let list = s
            .get(&self.at(&format!("/Activities?FriendlyName={name}")))
            .expect(200);
        list["activities"][0]["sid"]
            .as_str()
            .expect("activity")
            .to_owned()
    }

    /// A queue; returns its SID.
    pub fn queue(
        &self,
        s: &TestServer,
        name: &str,
        target: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let mut pairs = vec![("FriendlyName", name), ("TargetWorkers", target)];
        pairs.extend_from_slice(extra);
        s.post(&self.at("/TaskQueues"), &pairs).expect(201)["sid"]
            .as_str()
            .expect("queue")
            .to_owned()
    }

    /// A workflow; returns its SID.
    pub fn workflow(&self, s: &TestServer, config: Value, reservation_timeout: u32) -> String {
        let timeout = reservation_timeout.to_string();
        s.post(
            &self.at("/Workflows"),
            &[
                ("FriendlyName", &format!("wf-{}", rand_suffix())),
                ("Configuration", &config.to_string()),
                ("TaskReservationTimeout", &timeout),
            ],
        )
        .expect(201)["sid"]
            .as_str()
            .expect("workflow")
            .to_owned()
    }

    /// An available worker with chat capacity `capacity`; returns its SID.
    pub fn worker(&self, s: &TestServer, name: &str, attrs: Value, capacity: u32) -> String {
        let available = self.activity(s, "Available");
        let sid = s
            .post(
                &self.at("/Workers"),
                &[
                    ("FriendlyName", name),
                    ("Attributes", &attrs.to_string()),
                    ("ActivitySid", &available),
                ],
            )
            .expect(201)["sid"]
            .as_str()
            .expect("worker")
            .to_owned();
        s.post(
            &self.at(&format!("/Workers/{sid}/Channels/chat")),
            &[("Capacity", &capacity.to_string())],
        )
        .expect(200);
        sid
    }

    /// A chat task; returns its SID.
    pub fn task(
        &self,
        s: &TestServer,
        workflow: &str,
        attrs: Value,
        extra: &[(&str, &str)],
    ) -> String {
        let attrs = attrs.to_string();
        let mut pairs = vec![
            ("WorkflowSid", workflow),
            ("Attributes", attrs.as_str()),
            ("TaskChannel", "chat"),
        ];
        pairs.extend_from_slice(extra);
        s.post(&self.at("/Tasks"), &pairs).expect(201)["sid"]
            .as_str()
            .expect("task")
            .to_owned()
    }

    /// A worker's reservations with a given status.
    pub fn reservations(&self, s: &TestServer, worker: &str, status: &str) -> Vec<Value> {
        s.get(&self.at(&format!(
            "/Workers/{worker}/Reservations?ReservationStatus={status}"
        )))
        .expect(200)["reservations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for exactly one pending reservation of `worker` and returns it.
    pub fn offer(&self, s: &TestServer, worker: &str) -> Value {
        eventually(WAIT, || {
            let mut pending = self.reservations(s, worker, "pending");
            (pending.len() == 1).then(|| pending.remove(0))
        })
    }

    /// A task's current status.
    pub fn task_status(&self, s: &TestServer, task: &str) -> String {
        s.get(&self.at(&format!("/Tasks/{task}"))).expect(200)["assignment_status"]
            .as_str()
            .expect("status")
            .to_owned()
    }

    /// Answers a reservation (worker view).
    pub fn answer(
        &self,
        s: &TestServer,
        worker: &str,
        reservation: &str,
        pairs: &[(&str, &str)],
    ) -> crate::harness::Reply {
        s.post(
            &self.at(&format!("/Workers/{worker}/Reservations/{reservation}")),
            pairs,
        )
    }
}

fn rand_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

fn anyone(queue: &str) -> Value {
    json!({"task_routing": {"filters": [], "default_filter": {"queue": queue}}})
}

fn sid(v: &Value) -> String {
    v["sid"].as_str().expect("sid").to_owned()
}

#[test]
fn first_start_creates_the_flex_workspace() {
    let s = TestServer::spawn();
    let list = s.get("/taskrouter/v1/Workspaces").expect(200);
    assert_eq!(list["meta"]["key"], "workspaces");
    let ws = &list["workspaces"][0];
    assert_eq!(ws["friendly_name"], "Flex Task Assignment");
    assert_eq!(ws["default_activity_name"], "Offline");
    assert_eq!(ws["timeout_activity_name"], "Offline");
    let path = format!("/taskrouter/v1/Workspaces/{}", sid(ws));
    let names = |key: &str, rest: &str| -> Vec<String> {
        s.get(&format!("{path}{rest}")).expect(200)[key]
            .as_array()
            .expect("list")
            .iter()
            .map(|x| x["friendly_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let mut activities = names("activities", "/Activities");
    activities.sort();
    assert_eq!(activities, ["Available", "Break", "Offline", "Unavailable"]);
    assert_eq!(names("task_queues", "/TaskQueues"), ["Everyone"]);
    assert_eq!(names("workflows", "/Workflows"), ["Assign to Anyone"]);
    let channels = s.get(&format!("{path}/TaskChannels/chat")).expect(200);
    assert_eq!(channels["unique_name"], "chat");
}

#[test]
fn skills_priority_and_age_decide_the_offer() {
    let s = TestServer::spawn();
    let ws = Ws::create(&s, "skills");
    let sales = ws.queue(&s, "Sales", "routing.skills HAS 'sales'", &[]);
    let support = ws.queue(&s, "Support", "routing.skills HAS 'support'", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [
            {"filter_friendly_name": "Sales", "expression": "type == 'sales'", "targets": [{"queue": sales}]},
            {"filter_friendly_name": "Support", "expression": "type == 'support'", "targets": [{"queue": support}]}]}}),
        120,
    );
    // Tasks wait until a matching worker exists: an old normal one, then a new urgent one.
    let old = ws.task(&s, &wf, json!({"type": "support"}), &[]);
    let urgent = ws.task(&s, &wf, json!({"type": "support"}), &[("Priority", "10")]);
    let sales_task = ws.task(&s, &wf, json!({"type": "sales"}), &[]);
    let bob = ws.worker(&s, "bob", json!({"routing": {"skills": ["support"]}}), 1);
    let offer = ws.offer(&s, &bob);
    assert_eq!(offer["task_sid"], urgent.as_str(), "priority first");
    ws.answer(&s, &bob, &sid(&offer), &[("ReservationStatus", "accepted")])
        .expect(200);
    ws.answer(
        &s,
        &bob,
        &sid(&offer),
        &[("ReservationStatus", "completed")],
    )
    .expect(200);
    let offer = ws.offer(&s, &bob);
    assert_eq!(offer["task_sid"], old.as_str(), "then the oldest");
    assert_eq!(ws.task_status(&s, &sales_task), "pending", "no sales agent");
    assert_eq!(ws.task_status(&s, &urgent), "completed");
    let task = s.get(&ws.at(&format!("/Tasks/{old}"))).expect(200);
    assert_eq!(task["task_queue_sid"], support.as_str());
    assert_eq!(task["task_queue_friendly_name"], "Support");
    // EvaluateTaskAttributes and AssignmentStatus filters.
    let found = s
        .get(&ws.at("/Tasks?EvaluateTaskAttributes=type%20%3D%3D%20%27sales%27"))
        .expect(200);
    assert_eq!(found["tasks"].as_array().map(Vec::len), Some(1));
    let done = s
        .get(&ws.at("/Tasks?AssignmentStatus=completed"))
        .expect(200);
    assert_eq!(done["tasks"][0]["sid"], urgent.as_str());
}

#[test]
fn offer_latency_is_measured_from_the_tasks_creation() {
    let s = TestServer::spawn();
    let ws = Ws::create(&s, "offer latency");
    let queue = ws.queue(&s, "Everyone", "1 == 1", &[]);
    let wf = ws.workflow(&s, anyone(&queue), 120);
    // The first task waits for a worker; the second is offered as soon as it exists.
    ws.task(&s, &wf, json!({"type": "chat"}), &[]);
    std::thread::sleep(Duration::from_millis(400));
    let alice = ws.worker(&s, "alice", json!({}), 2);
    ws.offer(&s, &alice);
    ws.task(&s, &wf, json!({"type": "chat"}), &[]);
    eventually(WAIT, || {
        (ws.reservations(&s, &alice, "pending").len() == 2).then_some(())
    });
    let metrics = || s.get_text("/metrics");
    let count = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("switchboard_routing_task_to_offer_seconds_count "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let text = eventually(WAIT, || {
        let text = metrics();
        (count(&text) >= 2).then_some(text)
    });
    assert_eq!(count(&text), 2, "two first offers");
    // A re-offer (after a reject) measures the agent's answer, not routing: not counted.
    let bob = ws.worker(&s, "bob", json!({}), 1);
    let first = ws.reservations(&s, &alice, "pending").remove(0);
    ws.answer(
        &s,
        &alice,
        &sid(&first),
        &[("ReservationStatus", "rejected")],
    )
    .expect(200);
    ws.offer(&s, &bob);
    ws.task(&s, &wf, json!({"type": "chat"}), &[]);
    eventually(WAIT, || {
        (ws.reservations(&s, &alice, "pending").len() == 2).then_some(())
    });
    eventually(WAIT, || (count(&metrics()) >= 3).then_some(()));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        count(&metrics()),
        3,
        "the third task's offer, not bob's re-offer"
    );
    let slowest: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_routing_task_to_offer_seconds{quantile=\"1\"}"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maximum in:\n{text}"));
    assert!(
        slowest >= 0.4,
        "the waiting task's offer counts its wait: {slowest}"
    );
}

#[test]
fn concurrent_accepts_never_exceed_capacity_or_accept_twice() {
    let s = TestServer::spawn();
    let ws = Ws::create(&s, "capacity");
    let q = ws.queue(&s, "All", "1==1", &[("MaxReservedWorkers", "3")]);
    let wf = ws.workflow(&s, anyone(&q), 120);
    let workers: Vec<String> = (0..3)
        .map(|i| ws.worker(&s, &format!("w{i}"), json!({}), 1))
        .collect();
    let task = ws.task(&s, &wf, json!({}), &[]);
    let offers: Vec<(String, String)> = workers
        .iter()
        .map(|w| (w.clone(), sid(&ws.offer(&s, w))))
        .collect();
    // Three workers race to accept the one task: exactly one wins.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = offers
            .iter()
            .map(|(w, r)| {
                let ws = &ws;
                let s = &s;
                scope.spawn(move || {
                    ws.answer(s, w, r, &[("ReservationStatus", "accepted")])
                        .status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|&&c| c == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&c| c == 409).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(ws.task_status(&s, &task), "assigned");
    let rescinded: usize = workers
        .iter()
        .map(|w| ws.reservations(&s, w, "rescinded").len())
        .sum();
    assert_eq!(rescinded, 2);

    // One worker with capacity 2 and six tasks accepting everything at once.
    let busy = ws.worker(&s, "busy", json!({"busy": true}), 2);
    let q2 = ws.queue(&s, "Busy", "busy == true", &[]);
    let wf2 = ws.workflow(&s, anyone(&q2), 120);
    for _ in 0..6 {
        ws.task(&s, &wf2, json!({}), &[]);
    }
    for _ in 0..3 {
        let pending = ws.reservations(&s, &busy, "pending");
        std::thread::scope(|scope| {
            for r in &pending {
                let (ws, s, busy) = (&ws, &s, &busy);
                scope.spawn(move || {
                    ws.answer(s, busy, &sid(r), &[("ReservationStatus", "accepted")])
                });
            }
        });
        let channel = s
            .get(&ws.at(&format!("/Workers/{busy}/Channels/chat")))
            .expect(200);
        assert!(channel["assigned_tasks"].as_u64() <= Some(2), "{channel}");
        let accepted = ws.reservations(&s, &busy, "accepted");
        assert!(accepted.len() <= 2, "capacity exceeded: {}", accepted.len());
        for r in accepted {
            ws.answer(&s, &busy, &sid(&r), &[("ReservationStatus", "completed")])
                .expect(200);
        }
    }
}

#[test]
fn rejected_and_timed_out_offers_go_to_the_next_worker() {
    let s = TestServer::spawn();
    let ws = Ws::create(&s, "reroute");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(&s, anyone(&q), 1);
    let first = ws.worker(&s, "first", json!({}), 1);
    let task = ws.task(&s, &wf, json!({}), &[]);
    let offer = ws.offer(&s, &first);
    // The offer times out: the worker goes Offline (the timeout activity).
    let offline = ws.activity(&s, "Offline");
    eventually(WAIT, || {
        let w = s.get(&ws.at(&format!("/Workers/{first}"))).expect(200);
        (w["activity_sid"] == offline.as_str()).then_some(())
    });
    let timed_out = s
        .get(&ws.at(&format!("/Tasks/{task}/Reservations/{}", sid(&offer))))
        .expect(200);
    assert_eq!(timed_out["reservation_status"], "timeout");
    assert_eq!(ws.task_status(&s, &task), "pending");
    // A second worker gets it and rejects it, moving to Break; a third takes it.
    let second = ws.worker(&s, "second", json!({}), 1);
    let offer = ws.offer(&s, &second);
    let brk = ws.activity(&s, "Break");
    ws.answer(
        &s,
        &second,
        &sid(&offer),
        &[
            ("ReservationStatus", "rejected"),
            ("WorkerActivitySid", &brk),
        ],
    )
    .expect(200);
    let w = s.get(&ws.at(&format!("/Workers/{second}"))).expect(200);
    assert_eq!(w["activity_name"], "Break");
    let third = ws.worker(&s, "third", json!({}), 1);
    let offer = ws.offer(&s, &third);
    ws.answer(
        &s,
        &third,
        &sid(&offer),
        &[("ReservationStatus", "accepted")],
    )
    .expect(200);
    // Wrapping then completed, through the task resource.
    s.post(
        &ws.at(&format!("/Tasks/{task}")),
        &[("AssignmentStatus", "wrapping")],
    )
    .expect(200);
    assert_eq!(
        s.get(&ws.at(&format!("/Tasks/{task}/Reservations/{}", sid(&offer))))
            .expect(200)["reservation_status"],
        "wrapping"
    );
    let done = s
        .post(
            &ws.at(&format!("/Tasks/{task}")),
            &[("AssignmentStatus", "completed"), ("Reason", "resolved")],
        )
        .expect(200);
    assert_eq!(done["assignment_status"], "completed");
    assert_eq!(done["reason"], "resolved");
    // A completed task cannot be canceled.
    s.post(
        &ws.at(&format!("/Tasks/{task}")),
        &[("AssignmentStatus", "canceled")],
    )
    .expect_error(409, 20409);
}

#[test]
fn escalation_skip_if_and_workflow_timeout() {
    let s = TestServer::spawn();
    let ws = Ws::create(&s, "steps");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let vip = ws.queue(&s, "VIP", "vip == true", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [
            {"expression": "kind == 'vip'", "targets": [{"queue": vip, "skip_if": "workers.available == 0"}]},
            {"expression": "1 == 1", "targets": [
                {"queue": q, "expression": "worker.tier == 1", "timeout": 1},
                {"queue": q, "expression": "worker.tier == 2", "timeout": 1, "priority": 9}]}]}}),
        120,
    );
    let tier2 = ws.worker(&s, "tier2", json!({"tier": 2}), 5);
    // Step 1 (tier 1 only) waits a second, step 2 reaches tier 2 with priority 9.
    let task = ws.task(&s, &wf, json!({}), &[]);
    assert!(ws.reservations(&s, &tier2, "pending").is_empty());
    let offer = ws.offer(&s, &tier2);
    assert_eq!(offer["task_sid"], task.as_str());
    assert_eq!(
        s.get(&ws.at(&format!("/Tasks/{task}"))).expect(200)["priority"],
        9
    );
    // Nobody answers: after the last step the workflow times out and the task is canceled.
    eventually(WAIT, || {
        (ws.task_status(&s, &task) == "canceled").then_some(())
    });
    let t = s.get(&ws.at(&format!("/Tasks/{task}"))).expect(200);
    assert_eq!(t["reason"], "Workflow Timeout");
    // A VIP task skips the empty VIP queue at once and falls through to the next filter.
    let vip_task = ws.task(&s, &wf, json!({"kind": "vip"}), &[]);
    let t = s.get(&ws.at(&format!("/Tasks/{vip_task}"))).expect(200);
    assert_eq!(t["task_queue_sid"], q.as_str());
    let events = s
        .get(&ws.at(&format!(
            "/Events?TaskSid={vip_task}&EventType=workflow.skipped"
        )))
        .expect(200);
    assert_eq!(
        events["events"].as_array().map(Vec::len),
        Some(1),
        "{events}"
    );
}

#[test]
fn pending_tasks_and_live_reservations_survive_a_restart() {
    let mut s = TestServer::spawn();
    let ws = Ws::create(&s, "restart");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(&s, anyone(&q), 3);
    let w = ws.worker(&s, "w", json!({}), 1);
    let reserved = ws.task(&s, &wf, json!({"n": 1}), &[]);
    let waiting = ws.task(&s, &wf, json!({"n": 2}), &[]);
    let offer = ws.offer(&s, &w);
    assert_eq!(offer["task_sid"], reserved.as_str());
    s.restart();
    // The reservation is still pending and still times out (3 s from its creation).
    assert_eq!(ws.reservations(&s, &w, "pending").len(), 1);
    assert_eq!(ws.task_status(&s, &waiting), "pending");
    eventually(WAIT, || {
        (ws.reservations(&s, &w, "timeout").len() == 1).then_some(())
    });
    assert_eq!(ws.task_status(&s, &reserved), "pending");
    // Workflow state survived too: a new worker gets the older task first.
    let other = ws.worker(&s, "other", json!({}), 1);
    assert_eq!(ws.offer(&s, &other)["task_sid"], reserved.as_str());
}

/// A received callback: lower-case headers and the body.
type Captured = (Vec<(String, String)>, String);

/// A one-shot HTTP listener that hands back every request's headers and body.
fn callback_listener() -> (String, mpsc::Receiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/events", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut headers = Vec::new();
            let mut length = 0usize;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(": ") {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.parse().unwrap_or(0);
                    }
                    headers.push((k.to_ascii_lowercase(), v.to_owned()));
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send((headers, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (url, rx)
}

#[test]
fn events_are_listed_and_posted_signed_to_the_event_callback() {
    let s = TestServer::spawn();
    let (url, received) = callback_listener();
    let ws = Ws::create(&s, "events");
    s.post(
        &ws.path,
        &[
            ("EventCallbackUrl", &url),
            ("EventsFilter", "task.created,reservation.accepted"),
        ],
    )
    .expect(200);
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(&s, anyone(&q), 120);
    let w = ws.worker(&s, "w", json!({}), 1);
    let task = ws.task(&s, &wf, json!({"topic": "billing"}), &[]);
    let offer = ws.offer(&s, &w);
    ws.answer(&s, &w, &sid(&offer), &[("ReservationStatus", "accepted")])
        .expect(200);
    let mut types = Vec::new();
    for _ in 0..2 {
        let (headers, body) = received.recv_timeout(WAIT).expect("a callback");
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let signature = headers
            .iter()
            .find(|(k, _)| k == "x-twilio-signature")
            .map(|(_, v)| v.clone())
            .expect("signed");
        assert_eq!(
            signature,
            switchboard::webhooks::signature::sign(TOKEN, &url, &params)
        );
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("TaskSid").as_deref(), Some(task.as_str()));
        assert_eq!(get("WorkspaceSid").as_deref(), Some(ws.sid.as_str()));
        assert!(get("TaskAttributes").is_some_and(|a| a.contains("billing")));
        types.push(get("EventType").expect("type"));
    }
    types.sort();
    assert_eq!(types, ["reservation.accepted", "task.created"], "filtered");
    assert!(
        received.recv_timeout(Duration::from_millis(300)).is_err(),
        "nothing else"
    );
    // The Events resource has everything, newest first, filterable.
    let all = s
        .get(&ws.at(&format!("/Events?TaskSid={task}")))
        .expect(200);
    let names: Vec<&str> = all["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event_type"].as_str())
        .collect();
    for expected in [
        "task.created",
        "workflow.entered",
        "task-queue.entered",
        "reservation.created",
        "reservation.accepted",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let accepted = s
        .get(&ws.at("/Events?EventType=reservation.accepted"))
        .expect(200);
    let event = &accepted["events"][0];
    assert_eq!(event["event_data"]["worker_name"], "w");
    let fetched = s
        .get(&ws.at(&format!("/Events/{}", sid(event))))
        .expect(200);
    assert_eq!(fetched["event_type"], "reservation.accepted");
}

#[test]
fn bad_expressions_and_references_are_refused_clearly() {
    let s = TestServer::spawn();
    let ws = Ws::create(&s, "errors");
    let bad = s
        .post(
            &ws.at("/TaskQueues"),
            &[("FriendlyName", "Bad"), ("TargetWorkers", "skills HAS")],
        )
        .expect_error(400, 20001);
    assert!(
        bad["message"]
            .as_str()
            .is_some_and(|m| m.contains("TargetWorkers") && m.contains("column 11")),
        "{bad}"
    );
    let config =
        json!({"task_routing": {"filters": [{"expression": "a == 1 AND", "targets": []}]}});
    s.post(
        &ws.at("/Workflows"),
        &[
            ("FriendlyName", "bad"),
            ("Configuration", &config.to_string()),
        ],
    )
    .expect_error(400, 20001);
    let unknown = json!({"task_routing": {"default_filter": {"queue": "WQ00000000000000000000000000000000"}}});
    let err = s
        .post(
            &ws.at("/Workflows"),
            &[
                ("FriendlyName", "bad"),
                ("Configuration", &unknown.to_string()),
            ],
        )
        .expect_error(400, 20001);
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("default_filter"))
    );
    s.get(&ws.at("/Tasks?EvaluateTaskAttributes=a%20%3D%3D"))
        .expect_error(400, 20001);
    s.get(&ws.at("/Workers/WK00000000000000000000000000000000"))
        .expect_error(404, 20404);
    s.get("/taskrouter/v1/Workspaces/WS00000000000000000000000000000000")
        .expect_error(404, 20404);
    s.post(&ws.at("/Tasks"), &[("Attributes", "[1]")])
        .expect_error(400, 20001);
    // The workspace has no workflow: a task needs a routing target.
    let two = Ws::create(&s, "two");
    let q = two.queue(&s, "Q", "1==1", &[]);
    two.workflow(&s, anyone(&q), 10);
    two.workflow(&s, anyone(&q), 10);
    s.post(&two.at("/Tasks"), &[("Attributes", "{}")])
        .expect_error(400, 20001);
    // An activity in use cannot be deleted.
    let available = ws.activity(&s, "Available");
    ws.worker(&s, "a", json!({}), 1);
    s.delete(&ws.at(&format!("/Activities/{available}")))
        .expect_error(409, 20409);
}
