//! Conversations webhooks against a real local receiver: the echo rule
//! (`X-Twilio-Webhook-Enabled`), Twilio's parameters and signature, pre-events that modify,
//! block or time out, post-events retried with one idempotency token, dead letters that are
//! listed and replayed, deliveries that survive a crash, and the address auto-creation hook.

use std::time::Duration;

use serde_json::json;

use crate::harness::{ACCOUNT, TOKEN, TestServer, eventually, form};
use crate::receiver::{Answer, Receiver};

const FAST: [(&str, &str); 3] = [
    ("SWITCHBOARD__WEBHOOKS__INITIAL_BACKOFF", "100ms"),
    ("SWITCHBOARD__WEBHOOKS__MAX_BACKOFF", "200ms"),
    ("SWITCHBOARD__WEBHOOKS__MAX_ATTEMPTS", "3"),
];

fn configure(s: &TestServer, hooks: &Receiver, filters: &[&str], pre: bool) {
    let mut pairs = vec![(
        "PostWebhookUrl".to_owned(),
        format!("{}/post", hooks.origin),
    )];
    if pre {
        pairs.push(("PreWebhookUrl".into(), format!("{}/pre", hooks.origin)));
    }
    for f in filters {
        pairs.push(("Filters".into(), (*f).to_owned()));
    }
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.post("/conversations/v1/Configuration/Webhooks", &pairs)
        .expect(200);
}

fn send(s: &TestServer, conversation: &str, body: &str, enabled: bool) -> crate::harness::Reply {
    let headers: &[(&str, &str)] = if enabled {
        &[("X-Twilio-Webhook-Enabled", "true")]
    } else {
        &[]
    };
    s.post_raw(
        &format!("/conversations/v1/Conversations/{conversation}/Messages"),
        form(&[("Author", "alice"), ("Body", body)]),
        headers,
    )
}

#[test]
fn post_events_follow_the_echo_rule_and_carry_signed_twilio_parameters() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    configure(
        &s,
        &hooks,
        &["onMessageAdded", "onConversationAdded"],
        false,
    );
    let conversation = s.conversation(&[("FriendlyName", "hooks")]);
    // A REST action without the header fires nothing.
    send(&s, &conversation, "quiet", false).expect(201);
    std::thread::sleep(Duration::from_millis(500));
    assert!(hooks.to("/post").is_empty(), "{:?}", hooks.requests());
    // With it, onMessageAdded arrives with Twilio's parameters, signed with the auth token.
    let message = send(&s, &conversation, "loud", true).expect(201);
    let got = eventually(Duration::from_secs(10), || {
        hooks.to("/post").into_iter().next()
    });
    assert_eq!(got.method, "POST");
    assert_eq!(got.param("EventType"), Some("onMessageAdded"));
    assert_eq!(got.param("AccountSid"), Some(ACCOUNT));
    assert_eq!(got.param("Source"), Some("API"));
    assert_eq!(got.param("ConversationSid"), Some(conversation.as_str()));
    assert_eq!(got.param("MessageSid"), message["sid"].as_str());
    assert_eq!(got.param("Index"), Some("1"));
    assert_eq!(got.param("Body"), Some("loud"));
    assert_eq!(got.param("Author"), Some("alice"));
    let url = format!("{}/post", hooks.origin);
    let expected = switchboard::webhooks::signature::sign(TOKEN, &url, &got.params);
    assert_eq!(got.signature.as_deref(), Some(expected.as_str()));
    assert!(
        got.idempotency
            .as_deref()
            .is_some_and(|t| t.starts_with("WD"))
    );
}

#[test]
fn pre_events_modify_block_or_time_out() {
    let hooks = Receiver::start();
    let mut env = FAST.to_vec();
    env.push(("SWITCHBOARD__WEBHOOKS__PRE_TIMEOUT", "1s"));
    let s = TestServer::spawn_with(&env);
    configure(&s, &hooks, &["onMessageAdd"], true);
    let conversation = s.conversation(&[]);

    // 200 with JSON: the message is stored as the hook rewrote it.
    hooks.answer(|r| {
        if r.param("Body") == Some("swear") {
            Answer::json(json!({"body": "****", "attributes": "{\"filtered\":true}"}))
        } else if r.param("Body") == Some("spam") {
            Answer::status(403)
        } else if r.param("Body") == Some("slow") {
            Answer {
                status: 200,
                body: json!({"body": "too late"}).to_string(),
                delay: Duration::from_secs(3),
                content_type: "application/json",
            }
        } else {
            Answer::status(200)
        }
    });
    let modified = send(&s, &conversation, "swear", true).expect(201);
    assert_eq!(modified["body"], "****");
    assert_eq!(modified["attributes"], "{\"filtered\":true}");
    let pre = hooks.to("/pre");
    assert_eq!(pre[0].param("EventType"), Some("onMessageAdd"));
    assert_eq!(pre[0].param("Body"), Some("swear"));

    // 4xx: refused, nothing stored.
    let blocked = send(&s, &conversation, "spam", true);
    assert_eq!(blocked.status, 403, "{}", blocked.body);
    // No answer in time: stored unmodified.
    let slow = send(&s, &conversation, "slow", true).expect(201);
    assert_eq!(slow["body"], "slow");
    let stored = s.list_all(
        &format!("/conversations/v1/Conversations/{conversation}/Messages"),
        "messages",
    );
    let bodies: Vec<&str> = stored.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(bodies, ["****", "slow"]);
    // A REST action without the header is not asked.
    let before = hooks.to("/pre").len();
    send(&s, &conversation, "spam", false).expect(201);
    assert_eq!(hooks.to("/pre").len(), before);
}

#[test]
fn failing_post_events_retry_with_one_token_then_dead_letter_and_replay() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    configure(&s, &hooks, &["onMessageAdded"], false);
    let conversation = s.conversation(&[]);

    // Fails twice, then succeeds: three attempts, one idempotency token.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    hooks.answer(move |_| {
        if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            Answer::status(500)
        } else {
            Answer::status(200)
        }
    });
    send(&s, &conversation, "retry me", true).expect(201);
    let attempts = eventually(Duration::from_secs(10), || {
        let got = hooks.to("/post");
        (got.len() >= 3).then_some(got)
    });
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.idempotency == attempts[0].idempotency)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(hooks.to("/post").len(), 3, "no attempt after success");

    // Always failing: after max_attempts it is a dead letter, listed, and replayed once fixed.
    hooks.answer(|_| Answer::status(502));
    send(&s, &conversation, "doomed", true).expect(201);
    let dead = eventually(Duration::from_secs(10), || {
        let page = s.get("/switchboard/v1/Deliveries?Status=dead").expect(200);
        page["deliveries"]
            .as_array()
            .and_then(|d| d.first().cloned())
    });
    assert_eq!(dead["event"], "onMessageAdded");
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["last_error"], "HTTP 502");
    let id = dead["id"].as_str().expect("id").to_owned();
    hooks.answer(|_| Answer::status(200));
    s.post(&format!("/switchboard/v1/Deliveries/{id}/Replay"), &[])
        .expect(200);
    let replayed = eventually(Duration::from_secs(10), || {
        hooks
            .to("/post")
            .into_iter()
            .find(|r| r.param("Body") == Some("doomed") && r.idempotency.as_deref() == Some(&id))
            .filter(|_| {
                s.get("/switchboard/v1/Deliveries?Status=dead").expect(200)["deliveries"]
                    .as_array()
                    .is_some_and(|d| d.is_empty())
            })
    });
    assert_eq!(replayed.param("EventType"), Some("onMessageAdded"));
}

#[test]
fn pending_post_events_survive_a_crash() {
    let hooks = Receiver::start();
    let mut s = TestServer::spawn_with(&FAST);
    configure(&s, &hooks, &["onMessageAdded"], false);
    let conversation = s.conversation(&[]);
    // The endpoint hangs: the delivery is still pending when the server dies.
    hooks.answer(|_| Answer {
        status: 200,
        body: "{}".into(),
        delay: Duration::from_secs(30),
        content_type: "application/json",
    });
    send(&s, &conversation, "before the crash", true).expect(201);
    eventually(Duration::from_secs(10), || {
        hooks.to("/post").into_iter().next()
    });
    s.kill9();
    hooks.answer(|_| Answer::status(200));
    s.restart();
    let after = eventually(Duration::from_secs(15), || {
        let got = hooks.to("/post");
        (got.len() >= 2).then_some(got)
    });
    assert_eq!(after[1].param("Body"), Some("before the crash"));
    assert_eq!(after[0].idempotency, after[1].idempotency);
}

#[test]
fn address_auto_creation_attaches_its_webhook_to_new_conversations() {
    let hooks = Receiver::start();
    let mut env = FAST.to_vec();
    env.push((
        "SWITCHBOARD__CHANNELS__TWILIO__VALIDATE_SIGNATURES",
        "false",
    ));
    let s = TestServer::spawn_with(&env);
    s.post(
        "/conversations/v1/Configuration/Addresses",
        &[
            ("Type", "whatsapp"),
            ("Address", "whatsapp:+15550002222"),
            ("AutoCreation.Enabled", "true"),
            ("AutoCreation.Type", "webhook"),
            (
                "AutoCreation.WebhookUrl",
                &format!("{}/scoped", hooks.origin),
            ),
            ("AutoCreation.WebhookMethod", "POST"),
            ("AutoCreation.WebhookFilters", "onMessageAdded"),
        ],
    )
    .expect(201);
    let status = s
        .post_raw(
            "/channels/twilio/inbound",
            form(&[
                ("From", "whatsapp:+15557653333"),
                ("To", "whatsapp:+15550002222"),
                ("Body", "hola"),
                ("MessageSid", "SMwa1"),
            ]),
            &[],
        )
        .status;
    assert_eq!(status, 200);
    let got = eventually(Duration::from_secs(10), || {
        hooks.to("/scoped").into_iter().next()
    });
    assert_eq!(got.param("EventType"), Some("onMessageAdded"));
    assert_eq!(got.param("Source"), Some("WHATSAPP"));
    assert_eq!(got.param("Author"), Some("whatsapp:+15557653333"));
    assert!(got.param("WebhookSid").is_some_and(|w| w.starts_with("WH")));
    assert_eq!(got.param("WebhookType"), Some("webhook"));
}

#[test]
fn pre_events_cover_conversations_participants_and_edits() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    configure(
        &s,
        &hooks,
        &[
            "onConversationAdd",
            "onConversationUpdate",
            "onParticipantAdd",
            "onMessageUpdate",
            "onMessageRemove",
        ],
        true,
    );
    hooks.answer(|r| match r.param("EventType") {
        Some("onConversationAdd") | Some("onConversationUpdate") => {
            Answer::json(json!({"friendly_name": "Renamed by hook"}))
        }
        Some("onParticipantAdd") if r.param("Identity") == Some("mallory") => Answer::status(403),
        Some("onMessageUpdate") => Answer::json(json!({"body": "edited by hook"})),
        Some("onMessageRemove") => Answer::status(409),
        _ => Answer::status(200),
    });
    let on = [("X-Twilio-Webhook-Enabled", "true")];
    let created = s
        .post_raw(
            "/conversations/v1/Conversations",
            form(&[("FriendlyName", "original")]),
            &on,
        )
        .expect(201);
    assert_eq!(created["friendly_name"], "Renamed by hook");
    let sid = created["sid"].as_str().expect("CH").to_owned();
    let updated = s
        .post_raw(
            &format!("/conversations/v1/Conversations/{sid}"),
            form(&[("FriendlyName", "second")]),
            &on,
        )
        .expect(200);
    assert_eq!(updated["friendly_name"], "Renamed by hook");
    let participants = format!("/conversations/v1/Conversations/{sid}/Participants");
    s.post_raw(&participants, form(&[("Identity", "alice")]), &on)
        .expect(201);
    let refused = s.post_raw(&participants, form(&[("Identity", "mallory")]), &on);
    assert_eq!(refused.status, 403);
    let people = s.list_all(&participants, "participants");
    assert_eq!(people.len(), 1);
    let message = send(&s, &sid, "typo", true).expect(201);
    let path = format!(
        "/conversations/v1/Conversations/{sid}/Messages/{}",
        message["sid"].as_str().expect("IM")
    );
    let edited = s
        .post_raw(&path, form(&[("Body", "fixed")]), &on)
        .expect(200);
    assert_eq!(edited["body"], "edited by hook");
    let kept = s.http_delete(&path, &on);
    assert_eq!(kept, 403);
    s.get(&path).expect(200);
    let events: Vec<String> = hooks
        .to("/pre")
        .iter()
        .filter_map(|r| r.param("EventType").map(str::to_owned))
        .collect();
    assert_eq!(
        events,
        [
            "onConversationAdd",
            "onConversationUpdate",
            "onParticipantAdd",
            "onParticipantAdd",
            "onMessageUpdate",
            "onMessageRemove"
        ]
    );
}

#[test]
fn user_webhooks_fire_for_creation_and_updates() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    configure(
        &s,
        &hooks,
        &["onUserAdded", "onUserUpdate", "onUserUpdated"],
        true,
    );
    hooks.answer(|r| {
        if r.param("EventType") == Some("onUserUpdate") && r.param("FriendlyName") == Some("Evil") {
            Answer::status(400)
        } else {
            Answer::status(200)
        }
    });
    let on = [("X-Twilio-Webhook-Enabled", "true")];
    let user = s
        .post_raw(
            "/conversations/v1/Users",
            form(&[("Identity", "dora")]),
            &on,
        )
        .expect(201);
    let path = format!(
        "/conversations/v1/Users/{}",
        user["sid"].as_str().expect("US")
    );
    let added = eventually(Duration::from_secs(10), || {
        hooks.to("/post").into_iter().next()
    });
    assert_eq!(added.param("EventType"), Some("onUserAdded"));
    assert_eq!(added.param("Identity"), Some("dora"));
    let refused = s.post_raw(&path, form(&[("FriendlyName", "Evil")]), &on);
    assert_eq!(refused.status, 403);
    assert_eq!(
        s.get(&path).expect(200)["friendly_name"],
        serde_json::Value::Null
    );
    s.post_raw(&path, form(&[("FriendlyName", "Dora")]), &on)
        .expect(200);
    let updated = eventually(Duration::from_secs(10), || {
        hooks
            .to("/post")
            .into_iter()
            .find(|r| r.param("EventType") == Some("onUserUpdated"))
    });
    assert_eq!(updated.param("FriendlyName"), Some("Dora"));
}

#[test]
fn taskrouter_event_callbacks_share_the_outbox_retries_and_dead_letters() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    hooks.answer(|_| Answer::status(500));
    let ws = crate::taskrouter::Ws::create(&s, "callbacks");
    s.post(
        &ws.path,
        &[
            ("EventCallbackUrl", &format!("{}/tr", hooks.origin)),
            ("EventsFilter", "task.created"),
        ],
    )
    .expect(200);
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [], "default_filter": {"queue": q}}}),
        120,
    );
    let task = ws.task(&s, &wf, json!({"topic": "refund"}), &[]);
    let dead = eventually(Duration::from_secs(10), || {
        s.get("/switchboard/v1/Deliveries?Status=dead").expect(200)["deliveries"]
            .as_array()
            .and_then(|d| d.first().cloned())
    });
    assert_eq!(dead["event"], "task.created");
    assert_eq!(dead["attempts"], 3);
    let attempts = hooks.to("/tr");
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.param("TaskSid") == Some(task.as_str()))
    );
    assert!(
        attempts
            .iter()
            .all(|a| a.idempotency == attempts[0].idempotency)
    );
}

#[test]
fn get_webhooks_carry_their_parameters_in_the_signed_url() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    let conversation = s.conversation(&[]);
    s.post(
        &format!("/conversations/v1/Conversations/{conversation}/Webhooks"),
        &[
            ("Target", "webhook"),
            (
                "Configuration.Url",
                &format!("{}/get?site=1#rc=2", hooks.origin),
            ),
            ("Configuration.Method", "GET"),
            ("Configuration.Filters", "onMessageAdded"),
        ],
    )
    .expect(201);
    send(&s, &conversation, "by get", true).expect(201);
    let got = eventually(Duration::from_secs(10), || {
        hooks.to("/get").into_iter().next()
    });
    assert_eq!(got.method, "GET");
    assert_eq!(got.param("site"), Some("1"));
    assert_eq!(got.param("Body"), Some("by get"));
    assert_eq!(got.param("RetryCount"), Some("0"));
    // Signed as Twilio signs GET requests: the full URL, no parameters; no fragment sent.
    let url = format!("{}{}", hooks.origin, got.path);
    let expected = switchboard::webhooks::signature::sign(TOKEN, &url, &[]);
    assert_eq!(got.signature.as_deref(), Some(expected.as_str()));
}

#[test]
fn chat_clients_fire_webhooks_as_sdk_and_see_rejections_as_error_frames() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    configure(&s, &hooks, &["onMessageAdd", "onMessageAdded"], true);
    hooks.answer(|r| {
        if r.param("Body") == Some("spam") {
            Answer::status(403)
        } else {
            Answer::status(200)
        }
    });
    let conversation = s.conversation(&[]);
    s.post(
        &format!("/conversations/v1/Conversations/{conversation}/Participants"),
        &[("Identity", "alice")],
    )
    .expect(201);
    let minter = crate::ws::Minter::new(&s);
    let (mut ws, _) = crate::ws::Ws::session(&s, &minter.token("alice", None));
    let refused = ws.err(
        "send",
        json!({"conversation_sid": conversation, "body": "spam"}),
    );
    assert_eq!(refused["code"], 20403);
    ws.ok(
        "send",
        json!({"conversation_sid": conversation, "body": "hello"}),
    );
    let added = eventually(Duration::from_secs(10), || {
        hooks.to("/post").into_iter().next()
    });
    assert_eq!(added.param("Source"), Some("SDK"));
    assert_eq!(added.param("ClientIdentity"), Some("alice"));
    assert_eq!(added.param("Author"), Some("alice"));
    assert_eq!(added.param("Index"), Some("0"));
}

#[test]
fn a_url_fragment_sets_twilios_connection_overrides() {
    let hooks = Receiver::start();
    let s = TestServer::spawn_with(&FAST);
    hooks.answer(|_| Answer::status(500));
    let conversation = s.conversation(&[]);
    // `rc=0`: no retry (instead of the configured 3 attempts); the fragment is never sent.
    s.post(
        &format!("/conversations/v1/Conversations/{conversation}/Webhooks"),
        &[
            ("Target", "webhook"),
            ("Configuration.Url", &format!("{}/once#rc=0", hooks.origin)),
            ("Configuration.Filters", "onMessageAdded"),
        ],
    )
    .expect(201);
    send(&s, &conversation, "just once", true).expect(201);
    let dead = eventually(Duration::from_secs(10), || {
        s.get("/switchboard/v1/Deliveries?Status=dead").expect(200)["deliveries"]
            .as_array()
            .and_then(|d| d.first().cloned())
    });
    assert_eq!(dead["attempts"], 1);
    let got = hooks.to("/once");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].path, "/once");
}
