//! Golden copy of every routing frame and reply the server sends over the WebSocket
//! (tests/golden/routing_frames.json). SIDs are random, so each distinct SID is replaced by its
//! prefix and a counter in order of first appearance; times are fixed. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test --lib routing::wire`.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::routing::engine::Engine;
use crate::routing::engine::ops::{QueueSpec, TaskCreate, WorkflowSpec, WorkspaceSpec};

const T0: Millis = 1_450_304_317_000;

/// Replaces every SID (`XX` + 32 hex digits) by `XX` + a zero-padded counter, per first
/// appearance, so the file does not change with random SIDs.
fn normalise(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut seen: HashMap<&str, String> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let is_sid = i + 34 <= bytes.len()
            && bytes[i].is_ascii_uppercase()
            && bytes[i + 1].is_ascii_uppercase()
            && bytes[i + 2..i + 34]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if is_sid {
            let sid = &text[i..i + 34];
            let n = seen.len();
            let replacement = seen
                .entry(sid)
                .or_insert_with(|| format!("{}{n:032}", &sid[..2]));
            out.push_str(replacement);
            i += 34;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn parse(frame: ByteString) -> Value {
    serde_json::from_str(&frame).expect("frames are JSON")
}

#[test]
fn routing_frames_match_the_golden_file() {
    let account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("AC");
    let mut e = Engine::new_workspace(account, "Golden".into(), WorkspaceSpec::default(), T0);
    let queue = e
        .create_queue(
            QueueSpec {
                friendly_name: Some("Everyone".into()),
                target_workers: Some("1==1".into()),
                ..Default::default()
            },
            T0,
        )
        .expect("queue");
    let configuration =
        json!({"task_routing": {"filters": [], "default_filter": {"queue": queue}}});
    let workflow = e
        .create_workflow(
            WorkflowSpec {
                friendly_name: Some("Assign to Anyone".into()),
                configuration: Some(configuration.to_string()),
                task_reservation_timeout: Some(120),
                ..Default::default()
            },
            T0,
        )
        .expect("workflow");
    let available = e.activity_named("Available").expect("available");
    let alice = e
        .create_worker(
            "alice".into(),
            Some(available),
            Some(json!({"contact_uri": "client:alice"}).to_string()),
            T0,
        )
        .expect("worker");
    // Creating the workspace changed every worker: the first frame carries the whole roster.
    let full = statistics_frame(&mut e, true, T0).map(parse);
    let task = e
        .create_task(
            TaskCreate {
                attributes: Some(json!({"channelType": "web", "customerName": "Bob"}).to_string()),
                workflow_sid: Some(workflow),
                task_channel: Some("chat".into()),
                ..Default::default()
            },
            T0 + 1_000,
        )
        .expect("task");
    let offer = e.reservations_of_task(&task)[0].sid.clone();
    let now = T0 + 2_000;
    let id = json!(7);
    let offered = parse(reservation_frame(&e, "reservation.created", &offer, now));
    let snapshot = json!({
        "worker": worker(&e, &alice),
        "reservations": live_reservations(&e, &alice, now),
    });
    e.answer_reservation(&offer, ReservationStatus::Accepted, None, now)
        .expect("accept");
    let frames = json!({
        "event.reservation_created": offered,
        "event.reservation_updated": parse(reservation_frame(&e, "reservation.accepted", &offer, now)),
        "event.worker_updated": parse(worker_frame(&e, "worker.activity.update", &alice)),
        "event.statistics.full": full,
        "event.statistics": statistics_frame(&mut e, true, now).map(parse),
        "reply.statistics": parse(crate::protocol::reply(&id, statistics(&e, now))),
        "reply.worker": parse(crate::protocol::reply(&id, snapshot)),
        "reply.accept": parse(crate::protocol::reply(&id, json!({ "reservation": reservation(&e, &offer, now) }))),
    });
    let rendered = normalise(&(serde_json::to_string_pretty(&frames).expect("json") + "\n"));
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/routing_frames.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &rendered).expect("write golden");
    }
    let golden = std::fs::read_to_string(&path).expect("golden file exists");
    assert_eq!(
        rendered, golden,
        "a routing frame changed; review and regenerate the golden file"
    );
}

#[test]
fn normalise_numbers_sids_by_first_appearance() {
    let a = "WTaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let b = "WKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    assert_eq!(
        normalise(&format!("{a} {b} {a} XWTaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")),
        format!(
            "WT{:032} WK{:032} WT{:032} XWTaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            0, 1, 0
        )
    );
}
