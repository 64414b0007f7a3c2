//! Routing over the WebSocket: offers pushed to every session of the worker (first accept
//! wins), activity changes, the worker's own tasks, accept/wrap-up/complete, and supervisors'
//! live statistics.

use serde_json::json;

use crate::harness::TestServer;
use crate::taskrouter::Ws as Workspace;
use crate::ws::{Minter, Ws};

#[test]
fn offers_reach_every_session_of_the_worker_and_the_first_accept_wins() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let ws = Workspace::create(&s, "live");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [], "default_filter": {"queue": q}}}),
        120,
    );
    let worker = ws.worker(&s, "alice", json!({"contact_uri": "client:alice"}), 2);
    // The worker starts Offline; its desktop switches it to Available over the socket.
    let offline = ws.activity(&s, "Offline");
    s.post(
        &ws.at(&format!("/Workers/{worker}")),
        &[("ActivitySid", &offline)],
    )
    .expect(200);
    let token = minter.worker_token("alice", "agent", &ws.sid, Some(&worker));
    let (mut desk, _) = Ws::session(&s, &token);
    let (mut phone, _) = Ws::session(&s, &token);
    let snapshot = desk.ok("worker", json!({}));
    assert_eq!(snapshot["worker"]["activity_name"], "Offline");
    assert_eq!(snapshot["reservations"], json!([]));
    let task = ws.task(&s, &wf, json!({"customer": "bob"}), &[]);
    let now_available = desk.ok("activity", json!({"activity_name": "Available"}));
    assert_eq!(now_available["worker"]["available"], true);

    // Both sessions get the offer with its task.
    let offer = desk.event("reservation_created");
    let on_phone = phone.event("reservation_created");
    let reservation = offer["data"]["reservation"].clone();
    assert_eq!(reservation["task_sid"], task.as_str());
    assert_eq!(reservation["task"]["attributes"]["customer"], "bob");
    assert_eq!(reservation["reservation_status"], "pending");
    assert_eq!(on_phone["data"]["reservation"]["sid"], reservation["sid"]);

    let accepted = phone.ok("accept", json!({"reservation_sid": reservation["sid"]}));
    assert_eq!(accepted["reservation"]["reservation_status"], "accepted");
    let update = desk.event("reservation_updated");
    assert_eq!(
        update["data"]["reservation"]["reservation_status"],
        "accepted"
    );
    let twice = desk.err("accept", json!({"reservation_sid": reservation["sid"]}));
    assert_eq!(twice["code"], 20409);
    assert_eq!(ws.task_status(&s, &task), "assigned");

    // The worker's own tasks, then wrap-up and complete.
    let mine = desk.ok("worker", json!({}));
    assert_eq!(mine["reservations"][0]["task"]["sid"], task.as_str());
    assert_eq!(
        mine["reservations"][0]["task"]["assignment_status"],
        "assigned"
    );
    desk.ok("wrapup", json!({"reservation_sid": reservation["sid"]}));
    assert_eq!(ws.task_status(&s, &task), "wrapping");
    desk.ok("complete", json!({"reservation_sid": reservation["sid"]}));
    assert_eq!(ws.task_status(&s, &task), "completed");
    assert_eq!(desk.ok("worker", json!({}))["reservations"], json!([]));

    // A reject over the socket re-routes; another worker's reservation is not reachable.
    let second = ws.task(&s, &wf, json!({}), &[]);
    let offer = desk.event("reservation_created");
    let sid = offer["data"]["reservation"]["sid"].clone();
    let other = ws.worker(&s, "bob", json!({}), 1);
    let bob_token = minter.worker_token("bob", "agent", &ws.sid, Some(&other));
    let (mut bob, _) = Ws::session(&s, &bob_token);
    let denied = bob.err("accept", json!({"reservation_sid": sid}));
    assert_eq!(denied["code"], 20404);
    desk.ok("reject", json!({"reservation_sid": sid}));
    let offer = bob.event("reservation_created");
    assert_eq!(offer["data"]["reservation"]["task_sid"], second.as_str());
}

/// Waits for the next `statistics` frame that names a worker change (queue-only frames pass).
fn roster_frame(supervisor: &mut Ws) -> serde_json::Value {
    loop {
        let data = supervisor.event("statistics")["data"].clone();
        let changed = data["workers_changed"]
            .as_array()
            .is_some_and(|w| !w.is_empty());
        let removed = data["workers_removed"]
            .as_array()
            .is_some_and(|w| !w.is_empty());
        if changed || removed || data.get("workers").is_some() {
            return data;
        }
    }
}

#[test]
fn supervisors_are_sent_only_the_workers_that_changed() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let ws = Workspace::create(&s, "roster");
    let workers: Vec<String> = ["ann", "ben", "cat"]
        .iter()
        .map(|name| ws.worker(&s, name, json!({}), 1))
        .collect();
    let (mut supervisor, _) =
        Ws::session(&s, &minter.worker_token("sue", "supervisor", &ws.sid, None));
    let snapshot = supervisor.ok("statistics", json!({}));
    assert_eq!(snapshot["workers"].as_array().map(Vec::len), Some(3));
    let seq = snapshot["seq"].as_u64().expect("a snapshot is numbered");

    let offline = ws.activity(&s, "Offline");
    let go_offline = |worker: &str| {
        s.post(
            &ws.at(&format!("/Workers/{worker}")),
            &[("ActivitySid", &offline)],
        )
        .expect(200);
    };
    // Creating the workspace touched every worker: a frame with the whole roster may still be
    // due. Once a frame shows ann offline, every earlier change has been sent.
    go_offline(&workers[0]);
    let shows_ann_offline = |frame: &serde_json::Value| {
        ["workers", "workers_changed"].iter().any(|key| {
            frame[*key].as_array().is_some_and(|list| {
                list.iter()
                    .any(|w| w["sid"] == workers[0].as_str() && w["activity_name"] == "Offline")
            })
        })
    };
    let mut frame = roster_frame(&mut supervisor);
    while !shows_ann_offline(&frame) {
        frame = roster_frame(&mut supervisor);
    }
    assert!(
        frame["seq"].as_u64() > Some(seq),
        "numbered after the snapshot"
    );

    go_offline(&workers[1]);
    let frame = roster_frame(&mut supervisor);
    assert!(
        frame.get("workers").is_none(),
        "a change is not the whole roster: {frame}"
    );
    let changed = frame["workers_changed"].as_array().expect("changed");
    assert_eq!(changed.len(), 1, "only ben changed: {frame}");
    assert_eq!(changed[0]["sid"], workers[1].as_str());
    assert_eq!(changed[0]["activity_name"], "Offline");
    assert_eq!(frame["workers_removed"], json!([]));

    s.delete(&ws.at(&format!("/Workers/{}", workers[2])))
        .expect(204);
    let gone = roster_frame(&mut supervisor);
    assert!(gone["seq"].as_u64() > frame["seq"].as_u64());
    assert_eq!(gone["workers_removed"], json!([workers[2]]));
    assert_eq!(gone["workers_changed"], json!([]));
    let now = supervisor.ok("statistics", json!({}));
    assert_eq!(now["workers"].as_array().map(Vec::len), Some(2));
    assert_eq!(now["seq"], gone["seq"]);
}

#[test]
fn supervisors_receive_live_statistics_and_agents_do_not() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let ws = Workspace::create(&s, "floor");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [], "default_filter": {"queue": q}}}),
        120,
    );
    let (mut supervisor, _) =
        Ws::session(&s, &minter.worker_token("sue", "supervisor", &ws.sid, None));
    let now = supervisor.ok("statistics", json!({}));
    assert_eq!(now["workspace"]["total_tasks"], 0);
    ws.task(&s, &wf, json!({}), &[]);
    // The pushed statistics eventually show the waiting task in its queue.
    loop {
        let e = supervisor.event("statistics");
        let queue = e["data"]["queues"].as_array().and_then(|qs| {
            qs.iter()
                .find(|x| x["task_queue_sid"] == q.as_str())
                .cloned()
        });
        if queue.is_some_and(|x| x["tasks_by_status"]["pending"] == 1) {
            assert_eq!(e["data"]["workspace"]["total_tasks"], 1);
            break;
        }
    }
    let worker = ws.worker(&s, "agent", json!({}), 1);
    let (mut agent, _) = Ws::session(
        &s,
        &minter.worker_token("agent", "agent", &ws.sid, Some(&worker)),
    );
    assert_eq!(agent.err("statistics", json!({}))["code"], 20403);
    // A token without a TaskRouter workspace has no routing commands.
    let (mut guest, _) = Ws::session(&s, &minter.token("guest", None));
    assert_eq!(guest.err("worker", json!({}))["code"], 20403);
    // Nor does one naming a worker that does not exist here; it still chats.
    let unknown = "WK00000000000000000000000000000000";
    let (mut stray, session) = Ws::session(
        &s,
        &minter.worker_token("stray", "agent", &ws.sid, Some(unknown)),
    );
    assert_eq!(session["identity"], "stray");
    assert_eq!(stray.err("worker", json!({}))["code"], 20403);
    stray.ok("conversations", json!({}));
}
