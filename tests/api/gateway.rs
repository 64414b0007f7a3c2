//! The WebSocket gateway over real sockets: fan-out to participants and monitors, ordering,
//! idempotent sends, resume, typing and reads, token failures, authorisation denials, slow
//! consumers, heartbeats and protocol violations.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{ACCOUNT, TestServer, eventually};
use crate::ws::{Minter, Ws};

const QUIET: Duration = Duration::from_millis(300);

/// A conversation with a guest `customer` and an agent `agent` as participants.
fn chat(s: &TestServer) -> String {
    let sid = s.conversation(&[("FriendlyName", "support")]);
    for identity in ["customer", "agent"] {
        s.post(
            &format!("/Conversations/{sid}/Participants"),
            &[("Identity", identity)],
        )
        .expect(201);
    }
    sid
}

fn post(s: &TestServer, conversation: &str, author: &str, body: &str) -> Value {
    s.post(
        &format!("/Conversations/{conversation}/Messages"),
        &[("Author", author), ("Body", body)],
    )
    .expect(201)
}

#[test]
fn messages_fan_out_to_participants_and_monitors_in_order() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let (mut customer, session) = Ws::session(&s, &minter.token("customer", None));
    assert_eq!(session["identity"], "customer");
    assert_eq!(session["role"], "guest");
    assert_eq!(
        session["conversations"][0]["conversation"]["sid"],
        conversation
    );
    assert_eq!(
        session["conversations"][0]["last_message_index"],
        Value::Null
    );
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    let (mut supervisor, session) = Ws::session(&s, &minter.token("sup", Some("supervisor")));
    assert_eq!(session["conversations"], json!([]));
    let summary = supervisor.ok("monitor", json!({ "conversation_sid": conversation }));
    assert_eq!(summary["participant"], Value::Null);

    // A WebSocket send is answered with its index after the commit...
    let sent = customer.ok(
        "send",
        json!({ "conversation_sid": conversation, "body": "hello", "client_message_id": "c1" }),
    );
    assert_eq!(sent["message"]["index"], 0);
    assert_eq!(sent["message"]["author"], "customer");
    assert_eq!(sent["message"]["client_message_id"], "c1");
    let stored = s
        .get(&format!("/Conversations/{conversation}/Messages/0"))
        .expect(200);
    assert_eq!(stored["body"], "hello");
    // ...and a REST post reaches sockets the same way.
    post(&s, &conversation, "agent", "hi, how can I help?");
    for ws in [&mut customer, &mut agent, &mut supervisor] {
        let first = ws.event("message_added");
        assert_eq!(first["conversation_sid"], conversation);
        assert_eq!(first["data"]["index"], 0);
        assert_eq!(first["data"]["body"], "hello");
        let second = ws.event("message_added");
        assert_eq!(second["data"]["index"], 1);
        assert_eq!(second["data"]["author"], "agent");
    }

    // Many writers at once, over both paths: every socket sees 2..=61 once, in order.
    let mut sends = Vec::new();
    for i in 0..30 {
        sends.push(json!({ "conversation_sid": conversation, "body": format!("ws {i}") }));
    }
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..30 {
                post(&s, &conversation, "agent", &format!("rest {i}"));
            }
        });
        for send in sends {
            agent.ok("send", send);
        }
    });
    for ws in [&mut customer, &mut agent, &mut supervisor] {
        let indexes = ws.drain_message_indexes(Duration::from_secs(1));
        assert_eq!(indexes, (2..62).collect::<Vec<u64>>());
    }
    // The monitor is invisible: not a participant.
    let participants = s.list_all(
        &format!("/Conversations/{conversation}/Participants"),
        "participants",
    );
    assert_eq!(participants.len(), 2);
}

#[test]
fn a_retried_send_creates_one_message_even_across_reconnects() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let token = minter.token("customer", None);
    let (mut ws, _) = Ws::session(&s, &token);
    let send =
        json!({ "conversation_sid": conversation, "body": "once", "client_message_id": "retry-1" });
    let first = ws.ok("send", send.clone());
    let again = ws.ok("send", send.clone());
    assert_eq!(first["message"]["sid"], again["message"]["sid"]);
    drop(ws);
    let (mut ws, _) = Ws::session(&s, &token);
    let after_reconnect = ws.ok("send", send.clone());
    assert_eq!(first["message"]["sid"], after_reconnect["message"]["sid"]);
    // After a restart the actor reloads the ids from the store.
    let mut s = s;
    s.restart();
    let (mut ws, _) = Ws::session(&s, &token);
    let after_restart = ws.ok("send", send);
    assert_eq!(first["message"]["sid"], after_restart["message"]["sid"]);
    let messages = s.list_all(
        &format!("/Conversations/{conversation}/Messages"),
        "messages",
    );
    assert_eq!(messages.len(), 1);
    // The same id from another sender is another message.
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    let other = agent.ok(
        "send",
        json!({ "conversation_sid": conversation, "body": "mine", "client_message_id": "retry-1" }),
    );
    assert_eq!(other["message"]["index"], 1);
}

#[test]
fn a_reconnecting_client_resumes_with_no_gap_and_no_duplicate() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let token = minter.token("customer", None);
    let (mut ws, _) = Ws::session(&s, &token);
    for i in 0..5 {
        post(&s, &conversation, "agent", &format!("m{i}"));
    }
    assert_eq!(ws.drain_message_indexes(QUIET), vec![0, 1, 2, 3, 4]);
    ws.drop_connection();
    for i in 5..15 {
        post(&s, &conversation, "agent", &format!("m{i}"));
    }
    // Delete one missed message: its index stays unused.
    s.delete(&format!("/Conversations/{conversation}/Messages/9"))
        .expect(204);
    let (mut ws, session) = Ws::resume(&s, &token, json!({ conversation.clone(): 4 }));
    assert_eq!(session["conversations"][0]["last_message_index"], 14);
    // Live messages racing the catch-up are neither lost nor repeated.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 15..25 {
                post(&s, &conversation, "agent", &format!("m{i}"));
            }
        });
    });
    let mut expected: Vec<u64> = (5..25).collect();
    expected.retain(|&i| i != 9);
    assert_eq!(ws.drain_message_indexes(Duration::from_secs(1)), expected);

    // Without a resume entry, only what comes after the hello arrives; history pages back.
    let (mut fresh, _) = Ws::session(&s, &token);
    fresh.assert_silent(QUIET);
    let page = fresh.ok(
        "history",
        json!({ "conversation_sid": conversation, "limit": 5 }),
    );
    let indexes: Vec<u64> = page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indexes, vec![20, 21, 22, 23, 24]);
    assert_eq!(page["has_more"], true);
    let older = fresh.ok(
        "history",
        json!({ "conversation_sid": conversation, "before": 11, "limit": 3 }),
    );
    let indexes: Vec<u64> = older["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indexes, vec![7, 8, 10], "index 9 was deleted");
    // -1: nothing seen yet, everything is sent.
    let (mut all, _) = Ws::resume(&s, &token, json!({ conversation.clone(): -1 }));
    let mut everything: Vec<u64> = (0..25).collect();
    everything.retain(|&i| i != 9);
    assert_eq!(all.drain_message_indexes(QUIET), everything);
    // A supervisor resumes a monitored conversation the same way.
    let (mut sup, _) = Ws::session(&s, &minter.token("sup", Some("supervisor")));
    sup.ok(
        "monitor",
        json!({ "conversation_sid": conversation, "after_index": 21 }),
    );
    assert_eq!(sup.drain_message_indexes(QUIET), vec![22, 23, 24]);
}

#[test]
fn edits_deletes_typing_and_reads_reach_the_others() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let (mut customer, _) = Ws::session(&s, &minter.token("customer", None));
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    let (mut sup, _) = Ws::session(&s, &minter.token("sup", Some("supervisor")));
    sup.ok("monitor", json!({ "conversation_sid": conversation }));

    customer.ok("typing", json!({ "conversation_sid": conversation }));
    for ws in [&mut agent, &mut sup] {
        let typing = ws.event("typing");
        assert_eq!(typing["data"]["identity"], "customer");
        assert_eq!(typing["data"]["timeout_ms"], 5000);
    }
    // Repeats within the interval are answered but not fanned out again.
    customer.ok("typing", json!({ "conversation_sid": conversation }));
    customer.assert_silent(QUIET);
    agent.assert_silent(QUIET);

    let sent = customer.ok(
        "send",
        json!({ "conversation_sid": conversation, "body": "helo" }),
    );
    let index = sent["message"]["index"].clone();
    let edited = customer.ok(
        "edit",
        json!({ "conversation_sid": conversation, "index": index, "body": "hello" }),
    );
    assert_eq!(edited["message"]["body"], "hello");
    let err = agent.err(
        "edit",
        json!({ "conversation_sid": conversation, "index": index, "body": "hijack" }),
    );
    assert_eq!(err["code"], 20403);
    let err = agent.err(
        "delete",
        json!({ "conversation_sid": conversation, "index": index }),
    );
    assert_eq!(err["code"], 20403);
    agent.ok(
        "read",
        json!({ "conversation_sid": conversation, "index": index }),
    );
    customer.ok(
        "delete",
        json!({ "conversation_sid": conversation, "index": index }),
    );
    for ws in [&mut customer, &mut agent, &mut sup] {
        assert_eq!(ws.event("message_added")["data"]["body"], "helo");
        assert_eq!(ws.event("message_updated")["data"]["body"], "hello");
        let read = ws.event("participant_updated");
        assert_eq!(read["data"]["identity"], "agent");
        assert_eq!(read["data"]["last_read_message_index"], 0);
        assert_eq!(ws.event("message_removed")["data"]["index"], 0);
    }
    // The read horizon is the one REST shows.
    let participant = s
        .get(&format!("/Conversations/{conversation}/Participants/agent"))
        .expect(200);
    assert_eq!(participant["last_read_message_index"], 0);
    // The customer never saw its own typing, and never anything from the monitor.
    customer.assert_silent(QUIET);
}

#[test]
fn sessions_learn_about_conversations_they_join_and_leave() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let (mut agent, session) = Ws::session(&s, &minter.token("agent", Some("agent")));
    assert_eq!(session["conversations"], json!([]));
    let conversation = s.conversation(&[]);
    post(&s, &conversation, "system", "before the agent");
    s.post(
        &format!("/Conversations/{conversation}/Participants"),
        &[("Identity", "agent")],
    )
    .expect(201);
    let joined = agent.event("conversation_joined");
    assert_eq!(joined["conversation_sid"], conversation);
    assert_eq!(joined["data"]["participant"]["identity"], "agent");
    assert_eq!(joined["data"]["last_message_index"], 0);
    post(&s, &conversation, "system", "after");
    assert_eq!(agent.event("message_added")["data"]["index"], 1);
    let listed = agent.ok("conversations", json!({}));
    assert_eq!(
        listed["conversations"][0]["conversation"]["sid"],
        conversation
    );
    s.delete(&format!("/Conversations/{conversation}/Participants/agent"))
        .expect(204);
    agent.event("conversation_left");
    post(&s, &conversation, "system", "after leaving");
    agent.assert_silent(QUIET);
    let err = agent.err(
        "send",
        json!({ "conversation_sid": conversation, "body": "x" }),
    );
    assert_eq!(err["code"], 20403);
}

#[test]
fn a_participant_removed_gets_every_event_before_its_removal_then_leaves() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = s.conversation(&[]);
    s.post(
        &format!("/Conversations/{conversation}/Participants"),
        &[("Identity", "agent")],
    )
    .expect(201);
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    for i in 0..40 {
        post(&s, &conversation, "system", &format!("m{i}"));
    }
    s.delete(&format!("/Conversations/{conversation}/Participants/agent"))
        .expect(204);
    // The removal reaches the session twice (its identity's topic and the conversation's);
    // it leaves where the conversation's own feed has it, after every earlier event.
    for i in 0..40 {
        let e = agent.any_event();
        assert_eq!(e["event"], "message_added", "{e}");
        assert_eq!(e["data"]["index"], i);
    }
    let removed = agent.any_event();
    assert_eq!(removed["event"], "participant_removed", "{removed}");
    assert_eq!(removed["data"]["identity"], "agent");
    let left = agent.any_event();
    assert_eq!(left["event"], "conversation_left", "{left}");
    assert_eq!(left["conversation_sid"], conversation);
    post(&s, &conversation, "system", "after leaving");
    agent.assert_silent(QUIET);
}

#[test]
fn supervisors_monitor_anonymously_and_may_join() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let (mut customer, _) = Ws::session(&s, &minter.token("customer", None));
    let (mut sup, _) = Ws::session(&s, &minter.token("sup", Some("supervisor")));
    sup.ok("monitor", json!({ "conversation_sid": conversation }));
    // A monitor cannot act in the conversation.
    for (kind, fields) in [
        (
            "send",
            json!({ "conversation_sid": conversation, "body": "boo" }),
        ),
        ("typing", json!({ "conversation_sid": conversation })),
        (
            "read",
            json!({ "conversation_sid": conversation, "index": 0 }),
        ),
    ] {
        assert_eq!(sup.err(kind, fields)["code"], 20403, "{kind}");
    }
    customer.assert_silent(QUIET);
    // Joining (barge-in) makes it a visible participant.
    let joined = sup.ok("join", json!({ "conversation_sid": conversation }));
    assert_eq!(joined["participant"]["identity"], "sup");
    assert_eq!(
        customer.event("participant_added")["data"]["identity"],
        "sup"
    );
    sup.ok(
        "send",
        json!({ "conversation_sid": conversation, "body": "supervisor here" }),
    );
    assert_eq!(customer.event("message_added")["data"]["author"], "sup");
    sup.ok("leave", json!({ "conversation_sid": conversation }));
    assert_eq!(
        customer.event("participant_removed")["data"]["identity"],
        "sup"
    );
}

#[test]
fn every_authorisation_denial_is_an_error_reply() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let other = s.conversation(&[]);
    let (mut guest, _) = Ws::session(&s, &minter.token("customer", None));
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    // Guests and agents may not monitor or join.
    for ws in [&mut guest, &mut agent] {
        assert_eq!(
            ws.err("monitor", json!({ "conversation_sid": other }))["code"],
            20403
        );
        assert_eq!(
            ws.err("join", json!({ "conversation_sid": other }))["code"],
            20403
        );
        // Nor act in, or read, a conversation they are not in.
        assert_eq!(
            ws.err("send", json!({ "conversation_sid": other, "body": "x" }))["code"],
            20403
        );
        assert_eq!(
            ws.err("typing", json!({ "conversation_sid": other }))["code"],
            20403
        );
        assert_eq!(
            ws.err("history", json!({ "conversation_sid": other }))["code"],
            20404
        );
        assert_eq!(
            ws.err("leave", json!({ "conversation_sid": other }))["code"],
            20403
        );
    }
    // A conversation that does not exist.
    let missing = "CH00000000000000000000000000000000";
    assert_eq!(
        guest.err("send", json!({ "conversation_sid": missing, "body": "x" }))["code"],
        20404
    );
    // A supervisor cannot monitor another account's conversation.
    let sub = s
        .post(
            "/api/2010-04-01/Accounts.json",
            &[("FriendlyName", "tenant b")],
        )
        .expect(201);
    let sub_auth = (
        sub["sid"].as_str().expect("sid").to_owned(),
        sub["auth_token"].as_str().expect("token").to_owned(),
    );
    let foreign = s
        .as_user(
            "POST",
            "/Conversations",
            Some((&sub_auth.0, &sub_auth.1)),
            &[],
        )
        .expect(201)["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let (mut sup, _) = Ws::session(&s, &minter.token("sup", Some("supervisor")));
    assert_eq!(
        sup.err("monitor", json!({ "conversation_sid": foreign }))["code"],
        20404
    );
    assert_eq!(
        sup.err("join", json!({ "conversation_sid": foreign }))["code"],
        20404
    );
    // Bad fields are refused with 20001 and the session stays open.
    assert_eq!(
        guest.err("send", json!({ "conversation_sid": conversation }))["code"],
        20001
    );
    assert_eq!(
        guest.err(
            "send",
            json!({ "conversation_sid": conversation, "body": "x".repeat(1601) })
        )["code"],
        21617
    );
    assert_eq!(
        guest.err(
            "send",
            json!({ "conversation_sid": conversation, "body": "x", "attributes": "{nope" })
        )["code"],
        20001
    );
    assert_eq!(guest.err("launch", json!({}))["code"], 20001);
    assert_eq!(
        guest.err(
            "history",
            json!({ "conversation_sid": conversation, "limit": 500 })
        )["code"],
        20001
    );
    guest.ok("ping", json!({}));
}

#[test]
fn every_token_failure_closes_with_a_do_not_reconnect_code() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let now = switchboard::store::records::now();
    let mut forged_key = minter.key().clone();
    forged_key.secret = "not-the-secret".into();
    let forged = switchboard::gateway::token::mint(&forged_key, "x", Default::default(), now, 600);
    let mut unknown_key = minter.key().clone();
    unknown_key.sid = "SK00000000000000000000000000000000".parse().expect("SK");
    let unknown =
        switchboard::gateway::token::mint(&unknown_key, "x", Default::default(), now, 600);
    let mut wrong_account_key = minter.key().clone();
    wrong_account_key.account_sid = "AC00000000000000000000000000000000".parse().expect("AC");
    let wrong_account =
        switchboard::gateway::token::mint(&wrong_account_key, "x", Default::default(), now, 600);
    let cases = [
        ("garbage", "not.a.jwt".to_owned()),
        ("bad signature", forged),
        ("unknown key", unknown),
        ("wrong account", wrong_account),
        ("expired", minter.token_with("x", None, now - 3600, 60)),
        (
            "not yet valid",
            minter.token_with("x", None, now + 3600, 60),
        ),
    ];
    for (what, token) in &cases {
        // In the URL: refused at the upgrade.
        let mut ws = Ws::open(&s, Some(token));
        let closed = ws.closed();
        assert_eq!(closed.code, Some(4501), "{what}: {closed:?}");
        // In the hello frame: an error reply, then the close.
        let mut ws = Ws::open(&s, None);
        let answer = ws.request("hello", json!({ "token": token }));
        assert_eq!(answer["error"]["code"], 20003, "{what}");
        assert_eq!(ws.closed().code, Some(4501), "{what}");
    }
    // A deleted key stops working.
    let key_sid = minter.key().sid.to_string();
    let token = minter.token("x", None);
    s.delete(&format!(
        "/api/2010-04-01/Accounts/{ACCOUNT}/Keys/{key_sid}.json"
    ))
    .expect(204);
    let mut ws = Ws::open(&s, Some(&token));
    assert_eq!(ws.closed().code, Some(4501));
}

#[test]
fn tokens_renew_in_band_and_an_expired_session_is_closed() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let now = switchboard::store::records::now();
    let (mut ws, session) = Ws::session(&s, &minter.token_with("agent", Some("agent"), now, 2));
    assert!(session["expires_at"].is_string());
    // Within the warning window at once: told to renew.
    ws.event("token_expiring");
    let renewed = ws.ok(
        "renew",
        json!({ "token": minter.token("agent", Some("agent")) }),
    );
    assert_ne!(renewed["expires_at"], session["expires_at"]);
    let err = ws.err(
        "renew",
        json!({ "token": minter.token("someone-else", Some("agent")) }),
    );
    assert_eq!(err["code"], 20403);
    // Renewed: still open after the first token's expiry.
    std::thread::sleep(Duration::from_secs(3));
    ws.ok("ping", json!({}));

    let (mut short, _) = Ws::session(&s, &minter.token_with("agent", Some("agent"), now, 1));
    let closed = short.closed();
    assert_eq!(closed.code, Some(4004), "{closed:?}");
}

#[test]
fn protocol_violations_close_the_socket() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__GATEWAY__HELLO_TIMEOUT", "500ms")]);
    let minter = Minter::new(&s);
    // The first frame must be hello.
    let mut ws = Ws::open(&s, Some(&minter.token("a", None)));
    assert_eq!(ws.request("ping", json!({}))["error"]["code"], 20001);
    assert_eq!(ws.closed().code, Some(4500));
    // Not JSON before hello.
    let mut ws = Ws::open(&s, None);
    ws.send_text("hello?");
    assert_eq!(ws.closed().code, Some(4500));
    // No hello in time.
    let mut ws = Ws::open(&s, None);
    assert_eq!(ws.closed().code, Some(4504));
    // A frame over the limit.
    let (mut ws, _) = Ws::session(&s, &minter.token("a", None));
    ws.send_text(&format!(
        "{{\"type\":\"ping\",\"id\":1,\"pad\":\"{}\"}}",
        "x".repeat(70 * 1024)
    ));
    assert_eq!(ws.closed().code, Some(4503));
    // After hello, a bad frame is an error reply and the session stays.
    let (mut ws, _) = Ws::session(&s, &minter.token("a", None));
    ws.send_text("{\"id\": 9, \"type\": 12}");
    let answer = ws.next(crate::ws::WAIT).expect("answer");
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["id"], 9);
    ws.ok("ping", json!({}));
}

#[test]
fn a_silent_client_is_closed_by_the_heartbeat() {
    let s = TestServer::spawn_with(&[
        ("SWITCHBOARD__GATEWAY__HEARTBEAT_INTERVAL", "100ms"),
        ("SWITCHBOARD__GATEWAY__CLIENT_TIMEOUT", "600ms"),
    ]);
    let minter = Minter::new(&s);
    let (mut silent, _) = Ws::session(&s, &minter.token("a", None));
    let (mut alive, _) = Ws::session(&s, &minter.token("b", None));
    // Reading answers the server's pings (tungstenite pongs by itself); not reading does not.
    let until = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < until {
        alive.ok("ping", json!({}));
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed = silent.closed();
    // The close frame (4003) may be lost when the client's queued pongs hit the closed socket
    // first; either way the server dropped the silent client.
    assert!(
        closed.code == Some(4003)
            || closed.reason.contains("Broken pipe")
            || closed.reason.contains("reset"),
        "{closed:?}"
    );
    alive.ok("ping", json!({}));
}

#[test]
fn a_slow_consumer_is_closed_instead_of_buffered() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__GATEWAY__OUTBOUND_QUEUE", "16")]);
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let (mut slow, _) = Ws::session(&s, &minter.token("customer", None));
    let (mut fine, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    // Big frames fill the socket buffers quickly; the slow client reads nothing meanwhile.
    let attributes = json!({ "pad": "x".repeat(15_000) }).to_string();
    let body = "y".repeat(1600);
    let mut posted = 0;
    eventually(Duration::from_secs(60), || {
        for _ in 0..50 {
            s.post(
                &format!("/Conversations/{conversation}/Messages"),
                &[
                    ("Author", "agent"),
                    ("Body", &body),
                    ("Attributes", &attributes),
                ],
            )
            .expect(201);
            posted += 1;
        }
        // Keep the healthy client drained.
        fine.drain_message_indexes(Duration::from_millis(20));
        let metrics = s.get_text("/metrics");
        metrics
            .lines()
            .any(|l| {
                l.starts_with("switchboard_gateway_slow_consumer_closes_total")
                    && !l.ends_with(" 0")
            })
            .then_some(())
    });
    let ended = slow.closed();
    assert_eq!(ended.code, Some(4001), "{ended:?} after {posted} messages");
    // The healthy client was not affected and has every message.
    fine.ok("ping", json!({}));
    let last = s
        .get(&format!(
            "/Conversations/{conversation}/Messages?Order=desc&PageSize=1"
        ))
        .expect(200);
    assert_eq!(last["messages"][0]["index"], posted - 1);
}

#[test]
fn delivery_receipts_reach_the_author_and_rest() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let (mut customer, _) = Ws::session(&s, &minter.token("customer", None));
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    let sent = agent.ok(
        "send",
        json!({ "conversation_sid": conversation, "body": "hi" }),
    );
    assert_eq!(sent["message"]["delivery"], Value::Null);
    let index = customer.event("message_added")["data"]["index"].clone();
    let receipt = customer.ok(
        "delivered",
        json!({ "conversation_sid": conversation, "index": index }),
    );
    assert_eq!(receipt["receipt"]["status"], "delivered");
    let update = agent.event("delivery_updated");
    assert_eq!(
        update["data"]["receipt"]["participant_sid"],
        receipt["receipt"]["participant_sid"]
    );
    assert_eq!(update["data"]["message"]["delivery"]["delivered"], "all");
    assert_eq!(update["data"]["message"]["delivery"]["total"], 1);
    // Confirming again changes nothing and fans out nothing.
    customer.ok(
        "delivered",
        json!({ "conversation_sid": conversation, "index": index }),
    );
    agent.drain_message_indexes(QUIET);
    // The author is not a recipient of its own message.
    let err = agent.err(
        "delivered",
        json!({ "conversation_sid": conversation, "index": index }),
    );
    assert_eq!(err["code"], 20001);
    // REST shows the receipt and the message's summary.
    let message_sid = sent["message"]["sid"].as_str().expect("sid");
    let path = format!("/Conversations/{conversation}/Messages/{message_sid}");
    let message = s.get(&path).expect(200);
    assert_eq!(message["delivery"]["delivered"], "all");
    assert_eq!(message["delivery"]["read"], "none");
    let receipts = s.list_all(&format!("{path}/Receipts"), "delivery_receipts");
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["status"], "delivered");
    let dy = receipts[0]["sid"].as_str().expect("sid");
    assert_eq!(
        s.get(&format!("{path}/Receipts/{dy}")).expect(200)["message_sid"],
        message_sid
    );
    s.get(&format!(
        "{path}/Receipts/DY00000000000000000000000000000000"
    ))
    .expect_error(404, 20404);
}

#[test]
fn shutting_down_tells_sockets_to_reconnect() {
    let mut s = TestServer::spawn();
    let minter = Minter::new(&s);
    let (mut ws, _) = Ws::session(&s, &minter.token("a", None));
    let status = s.terminate(Duration::from_secs(15));
    assert!(status.success(), "clean exit: {status:?}");
    let closed = ws.closed();
    assert_eq!(closed.code, Some(4000), "{closed:?}");
}

#[test]
fn conversation_changes_reach_participants() {
    let s = TestServer::spawn();
    let minter = Minter::new(&s);
    let conversation = chat(&s);
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    s.post(
        &format!("/Conversations/{conversation}"),
        &[("FriendlyName", "renamed")],
    )
    .expect(200);
    let updated = agent.event("conversation_updated");
    assert_eq!(updated["data"]["friendly_name"], "renamed");
    s.post(
        &format!("/Conversations/{conversation}"),
        &[("State", "closed")],
    )
    .expect(200);
    let state = agent.event("conversation_state_updated");
    assert_eq!(state["data"]["from"], "active");
    assert_eq!(state["data"]["reason"], "API");
    assert_eq!(state["data"]["conversation"]["state"], "closed");
    // Closed is final: sends are refused with Twilio's code.
    let err = agent.err(
        "send",
        json!({ "conversation_sid": conversation, "body": "late" }),
    );
    assert_eq!(err["code"], 50377);
    s.delete(&format!("/Conversations/{conversation}"))
        .expect(204);
    agent.event("conversation_removed");
}
