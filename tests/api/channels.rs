//! Messaging channels through the Twilio adapter, against a local fake provider: signed
//! inbound webhooks, auto-creation (one conversation under a burst), routing to an agent,
//! outbound sends with status callbacks, failures that end as failed receipts, and sends that
//! survive a crash.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{TestServer, eventually, form};
use crate::receiver::{Answer, Receiver};
use crate::taskrouter::Ws as Workspace;
use crate::ws::{Minter, Ws};

const PROVIDER_SID: &str = "AC00000000000000000000000000000099";
const PROVIDER_TOKEN: &str = "provider-secret";
const NUMBER: &str = "+15550001111";

fn spawn(provider: &Receiver) -> TestServer {
    spawn_env(&provider_env(provider))
}

fn provider_env(provider: &Receiver) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD__CHANNELS__PROVIDER", "twilio".into()),
        ("SWITCHBOARD__CHANNELS__MAX_ATTEMPTS", "3".into()),
        (
            "SWITCHBOARD__CHANNELS__TWILIO__API_BASE_URL",
            provider.origin.clone(),
        ),
        (
            "SWITCHBOARD__CHANNELS__TWILIO__ACCOUNT_SID",
            PROVIDER_SID.into(),
        ),
        (
            "SWITCHBOARD__CHANNELS__TWILIO__AUTH_TOKEN",
            PROVIDER_TOKEN.into(),
        ),
        ("SWITCHBOARD__WEBHOOKS__INITIAL_BACKOFF", "100ms".into()),
        ("SWITCHBOARD__WEBHOOKS__MAX_BACKOFF", "200ms".into()),
    ]
}

fn spawn_env(env: &[(&'static str, String)]) -> TestServer {
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestServer::spawn_with(&pairs)
}

/// Posts a provider webhook signed with the provider's auth token (or a bad signature).
fn provider_post(s: &TestServer, path: &str, pairs: &[(&str, &str)], good: bool) -> u16 {
    let url = s.url(path);
    let params: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let token = if good { PROVIDER_TOKEN } else { "wrong" };
    let sig = switchboard::webhooks::signature::sign(token, &url, &params);
    s.post_raw(path, form(pairs), &[("X-Twilio-Signature", &sig)])
        .status
}

fn inbound(s: &TestServer, from: &str, body: &str, sid: &str) -> u16 {
    provider_post(
        s,
        "/channels/twilio/inbound",
        &[
            ("From", from),
            ("To", NUMBER),
            ("Body", body),
            ("MessageSid", sid),
            ("AccountSid", PROVIDER_SID),
            ("NumMedia", "0"),
        ],
        true,
    )
}

fn address(s: &TestServer, extra: &[(&str, &str)]) -> Value {
    let mut pairs = vec![
        ("Type", "sms"),
        ("Address", NUMBER),
        ("AutoCreation.Enabled", "true"),
        ("AutoCreation.Type", "default"),
    ];
    pairs.extend_from_slice(extra);
    s.post("/conversations/v1/Configuration/Addresses", &pairs)
        .expect(201)
}

fn conversations_of(s: &TestServer, customer: &str) -> Vec<Value> {
    let path = format!(
        "/conversations/v1/ParticipantConversations?Address={}",
        form(&[("x", customer)]).trim_start_matches("x=")
    );
    s.get(&path).expect(200)["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn messages(s: &TestServer, conversation: &str) -> Vec<Value> {
    s.list_all(
        &format!("/conversations/v1/Conversations/{conversation}/Messages"),
        "messages",
    )
}

#[test]
fn inbound_messages_are_verified_and_a_burst_creates_exactly_one_conversation() {
    let provider = Receiver::start();
    let s = spawn(&provider);
    address(&s, &[]);
    // Unsigned or wrongly signed webhooks are refused; nothing is created.
    let bad = provider_post(
        &s,
        "/channels/twilio/inbound",
        &[("From", "+15557654321"), ("To", NUMBER), ("Body", "hi")],
        false,
    );
    assert_eq!(bad, 403);
    assert!(conversations_of(&s, "+15557654321").is_empty());
    // An address nobody configured is a 404.
    let unknown = provider_post(
        &s,
        "/channels/twilio/inbound",
        &[
            ("From", "+15557654321"),
            ("To", "+15559999999"),
            ("Body", "hi"),
        ],
        true,
    );
    assert_eq!(unknown, 404);

    // Twenty first messages of one new contact at once: one conversation, twenty messages.
    let customer = "+15557654321";
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let s = &s;
                scope.spawn(move || inbound(s, customer, &format!("m{i}"), &format!("SM{i:032}")))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().expect("thread"), 200);
        }
    });
    let found = conversations_of(&s, customer);
    assert_eq!(found.len(), 1, "{found:?}");
    let sid = found[0]["conversation_sid"]
        .as_str()
        .expect("CH")
        .to_owned();
    let all = messages(&s, &sid);
    assert_eq!(all.len(), 20);
    assert!(all.iter().all(|m| m["author"] == customer));
    let participants = s
        .get(&format!(
            "/conversations/v1/Conversations/{sid}/Participants"
        ))
        .expect(200);
    let binding = &participants["participants"][0]["messaging_binding"];
    assert_eq!(binding["address"], customer);
    assert_eq!(binding["proxy_address"], NUMBER);

    // The provider retrying a message it already delivered adds nothing.
    assert_eq!(inbound(&s, customer, "m0", &format!("SM{:032}", 0)), 200);
    assert_eq!(messages(&s, &sid).len(), 20);

    // Once that conversation closes, the next message starts a new one.
    s.post(
        &format!("/conversations/v1/Conversations/{sid}"),
        &[("State", "closed")],
    )
    .expect(200);
    assert_eq!(inbound(&s, customer, "again", "SM-new"), 200);
    let found = conversations_of(&s, customer);
    assert_eq!(found.len(), 2);
}

#[test]
fn inbound_sms_reaches_an_agent_whose_reply_is_sent_and_reported_delivered() {
    let provider = Receiver::start();
    let s = spawn(&provider);
    let minter = Minter::new(&s);
    let ws = Workspace::create(&s, "sms");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [], "default_filter": {"queue": q}}}),
        120,
    );
    let worker = ws.worker(&s, "alice", json!({"contact_uri": "client:alice"}), 2);
    address(
        &s,
        &[
            ("Routing.WorkspaceSid", &ws.sid),
            ("Routing.WorkflowSid", &wf),
            ("Routing.TaskChannel", "chat"),
            ("Routing.Attributes", r#"{"team":"sms"}"#),
        ],
    );
    let token = minter.worker_token("alice", "agent", &ws.sid, Some(&worker));
    let (mut desk, _) = Ws::session(&s, &token);

    // The customer texts the number: a conversation and a task, offered to alice.
    let customer = "+15557650000";
    assert_eq!(inbound(&s, customer, "Where is my order?", "SM1"), 200);
    let offer = desk.event("reservation_created");
    let reservation = offer["data"]["reservation"].clone();
    assert_eq!(reservation["task"]["attributes"]["team"], "sms");
    assert_eq!(reservation["task"]["attributes"]["channelType"], "sms");
    let conversation = reservation["task"]["attributes"]["conversationSid"]
        .as_str()
        .expect("conversationSid")
        .to_owned();
    desk.ok("accept", json!({"reservation_sid": reservation["sid"]}));

    // Accepting made alice a participant; she reads the history and replies.
    let history = desk.ok("history", json!({"conversation_sid": conversation}));
    assert_eq!(history["messages"][0]["body"], "Where is my order?");
    let reply = desk.ok(
        "send",
        json!({"conversation_sid": conversation, "body": "On its way!"}),
    );
    let message_sid = reply["message"]["sid"].as_str().expect("IM").to_owned();

    // The provider receives it: from our number to the customer, with a status callback.
    let sent = eventually(Duration::from_secs(10), || {
        provider.to("/2010-04-01/").into_iter().next()
    });
    assert_eq!(
        sent.path,
        format!("/2010-04-01/Accounts/{PROVIDER_SID}/Messages.json")
    );
    assert_eq!(sent.param("From"), Some(NUMBER));
    assert_eq!(sent.param("To"), Some(customer));
    assert_eq!(sent.param("Body"), Some("On its way!"));
    assert!(
        sent.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic "))
    );
    let callback = sent
        .param("StatusCallback")
        .expect("StatusCallback")
        .to_owned();

    // The carrier reports it delivered: the agent sees the receipt live.
    let path = callback
        .strip_prefix(&s.origin)
        .expect("callback on our origin")
        .to_owned();
    let status = provider_post(
        &s,
        &path,
        &[("MessageSid", "SMprov1"), ("MessageStatus", "delivered")],
        true,
    );
    assert_eq!(status, 204);
    let update = loop {
        let e = desk.event("delivery_updated");
        if e["data"]["receipt"]["status"] == "delivered" {
            break e;
        }
    };
    assert_eq!(update["data"]["message"]["sid"], message_sid.as_str());
    assert_eq!(update["data"]["message"]["delivery"]["delivered"], "all");
    let receipts = s
        .get(&format!(
            "/conversations/v1/Conversations/{conversation}/Messages/{message_sid}/Receipts"
        ))
        .expect(200);
    assert_eq!(receipts["delivery_receipts"][0]["status"], "delivered");
    // A forged status callback is refused.
    assert_eq!(
        provider_post(&s, &path, &[("MessageStatus", "failed")], false),
        403
    );
}

#[test]
fn failed_sends_are_retried_then_end_as_failed_receipts_and_dead_letters() {
    let provider = Receiver::start();
    let s = spawn(&provider);
    address(&s, &[]);
    let customer = "+15557651111";
    assert_eq!(inbound(&s, customer, "hello", "SMf1"), 200);
    let conversation = conversations_of(&s, customer)[0]["conversation_sid"]
        .as_str()
        .expect("CH")
        .to_owned();
    let post = |body: &str| {
        s.post(
            &format!("/conversations/v1/Conversations/{conversation}/Messages"),
            &[("Author", "agent"), ("Body", body)],
        )
        .expect(201)["sid"]
            .as_str()
            .expect("IM")
            .to_owned()
    };
    let receipt = |message: &str| {
        s.get(&format!(
            "/conversations/v1/Conversations/{conversation}/Messages/{message}/Receipts"
        ))
        .expect(200)["delivery_receipts"]
            .get(0)
            .cloned()
    };

    // The provider is down: three attempts, then a failed receipt.
    provider.answer(|_| Answer::status(503));
    let down = post("anyone there?");
    let failed = eventually(Duration::from_secs(15), || {
        receipt(&down).filter(|r| r["status"] == "failed")
    });
    assert_eq!(failed["error_code"], 30008);
    assert_eq!(provider.to("/2010-04-01/").len(), 3);

    // The provider refuses the number: no retries, its error code on the receipt.
    provider.answer(|_| Answer {
        status: 400,
        body: json!({"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
            .to_string(),
        delay: Duration::ZERO,
        content_type: "application/json",
    });
    let refused = post("still there?");
    let failed = eventually(Duration::from_secs(15), || {
        receipt(&refused).filter(|r| r["status"] == "failed")
    });
    assert_eq!(failed["error_code"], 21211);
    assert_eq!(provider.to("/2010-04-01/").len(), 4);
    // Both stay as dead letters, ready to be replayed. The failed receipt is the
    // conversation's write and the dead letter the outbox's, committed just after it.
    let dead = eventually(Duration::from_secs(15), || {
        let all = s.get("/switchboard/v1/Deliveries?Status=dead").expect(200);
        let all = all["deliveries"].as_array().cloned().unwrap_or_default();
        (all.len() >= 2).then_some(all)
    });
    assert_eq!(dead.len(), 2);
    assert!(
        dead.iter()
            .all(|d| d["type"] == "channel_send" && d["to"] == customer)
    );
}

#[test]
fn a_burst_beyond_the_rate_limit_from_a_customer_is_never_turned_away() {
    let provider = Receiver::start();
    let mut env = provider_env(&provider);
    env.push((
        "SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND",
        "5".into(),
    ));
    let s = spawn_env(&env);
    address(&s, &[]);
    let customer = "+15557656767";
    for i in 0..15 {
        assert_eq!(
            inbound(&s, customer, &format!("n{i}"), &format!("SMr{i}")),
            200
        );
    }
    let conversation = conversations_of(&s, customer)[0]["conversation_sid"]
        .as_str()
        .expect("CH")
        .to_owned();
    assert_eq!(messages(&s, &conversation).len(), 15);
}

#[test]
fn sends_waiting_for_the_provider_survive_a_crash() {
    let provider = Receiver::start();
    let env = provider_env(&provider);
    let mut s = spawn_env(&env);
    address(&s, &[]);
    let customer = "+15557652222";
    assert_eq!(inbound(&s, customer, "hello", "SMc1"), 200);
    let conversation = conversations_of(&s, customer)[0]["conversation_sid"]
        .as_str()
        .expect("CH")
        .to_owned();
    // The provider hangs; the message is acknowledged (durable) but not sent yet.
    provider.answer(|_| Answer {
        status: 503,
        body: "{}".into(),
        delay: Duration::from_secs(2),
        content_type: "application/json",
    });
    s.post(
        &format!("/conversations/v1/Conversations/{conversation}/Messages"),
        &[("Author", "agent"), ("Body", "sent before the crash")],
    )
    .expect(201);
    s.kill9();
    provider.answer(|r| {
        if r.path.contains("/Messages.json") {
            Answer {
                status: 201,
                body: json!({"sid": "SMafter", "status": "queued"}).to_string(),
                delay: Duration::ZERO,
                content_type: "application/json",
            }
        } else {
            Answer::status(200)
        }
    });
    s.restart();
    let delivered = eventually(Duration::from_secs(15), || {
        provider
            .to("/2010-04-01/")
            .into_iter()
            .find(|r| r.param("Body") == Some("sent before the crash"))
    });
    assert_eq!(delivered.param("To"), Some(customer));
    // The restarted server records the hand-over (starting the conversation's actor for it).
    let message = messages(&s, &conversation).pop().expect("message");
    let receipts = format!(
        "/conversations/v1/Conversations/{conversation}/Messages/{}/Receipts",
        message["sid"].as_str().expect("IM")
    );
    let sent = eventually(Duration::from_secs(10), || {
        s.get(&receipts).expect(200)["delivery_receipts"]
            .get(0)
            .cloned()
            .filter(|r| r["status"] == "sent")
    });
    assert_eq!(sent["channel_message_sid"], "SMafter");
}

#[test]
fn media_arrive_from_the_provider_and_leave_as_signed_links_within_channel_limits() {
    let provider = Receiver::start();
    let mut env = provider_env(&provider);
    env.push(("SWITCHBOARD__MEDIA__LIMITS__SMS__MAX_BYTES", "1000".into()));
    let s = spawn_env(&env);
    address(&s, &[]);
    let picture = "PNG-ish bytes ".repeat(20);
    let big = "x".repeat(5000);
    let (small, large) = (picture.clone(), big.clone());
    provider.answer(move |r| {
        if r.path.starts_with("/media/cat.png") {
            Answer::file("image/png", &small)
        } else if r.path.starts_with("/media/big.png") {
            Answer::file("image/png", &large)
        } else if r.path.starts_with("/media/virus.exe") {
            Answer::file("application/x-msdownload", "MZ")
        } else {
            Answer {
                status: 201,
                body: json!({"sid": "SMout", "status": "queued"}).to_string(),
                delay: Duration::ZERO,
                content_type: "application/json",
            }
        }
    });
    let customer = "+15557653434";
    let media = |name: &str| format!("{}/media/{name}", provider.origin);
    let status = provider_post(
        &s,
        "/channels/twilio/inbound",
        &[
            ("From", customer),
            ("To", NUMBER),
            ("Body", "see attached"),
            ("MessageSid", "SMmms1"),
            ("NumMedia", "3"),
            ("MediaUrl0", &media("cat.png")),
            ("MediaContentType0", "image/png"),
            ("MediaUrl1", &media("big.png")),
            ("MediaContentType1", "image/png"),
            ("MediaUrl2", &media("virus.exe")),
            ("MediaContentType2", "application/x-msdownload"),
        ],
        true,
    );
    assert_eq!(status, 200);
    // The provider's credentials went along to fetch the media.
    let fetch = provider.to("/media/cat.png").pop().expect("fetched");
    assert!(fetch.authorization.is_some_and(|a| a.starts_with("Basic ")));
    let conversation = conversations_of(&s, customer)[0]["conversation_sid"]
        .as_str()
        .expect("CH")
        .to_owned();
    let message = messages(&s, &conversation).pop().expect("message");
    assert_eq!(message["body"], "see attached");
    let stored = message["media"].as_array().expect("media");
    assert_eq!(stored.len(), 1, "only the picture within the SMS limits");
    assert_eq!(stored[0]["content_type"], "image/png");
    assert_eq!(stored[0]["size"], picture.len());
    // What the limits refused is listed for the agent, with the reason.
    let attributes: Value =
        serde_json::from_str(message["attributes"].as_str().expect("attributes")).expect("json");
    let refused = attributes["refused_media"].as_array().expect("refused");
    assert_eq!(refused.len(), 2);
    assert!(
        refused
            .iter()
            .any(|r| r["reason"].as_str().is_some_and(|t| t.contains("1000")))
    );
    // The stored copy is served back byte for byte.
    let service = message["chat_service_sid"].as_str().expect("IS").to_owned();
    let me = stored[0]["sid"].as_str().expect("ME").to_owned();
    let (code, _, bytes) = s.download(
        &s.url(&format!("/mcs/v1/Services/{service}/Media/{me}/Content")),
        Some((crate::harness::ACCOUNT, crate::harness::TOKEN)),
    );
    assert_eq!((code, bytes), (200, picture.clone().into_bytes()));

    // Outbound: an agent's attachment leaves as a signed link the provider can fetch.
    let sent = s
        .post(
            &format!("/conversations/v1/Conversations/{conversation}/Messages"),
            &[("Author", "agent"), ("Body", "thanks"), ("MediaSid", &me)],
        )
        .expect(201);
    assert_eq!(sent["media"][0]["sid"], me.as_str());
    let out = eventually(Duration::from_secs(10), || {
        provider
            .to("/2010-04-01/")
            .into_iter()
            .find(|r| r.param("Body") == Some("thanks"))
    });
    let link = out.param("MediaUrl").expect("MediaUrl").to_owned();
    let (code, kind, bytes) = s.download(&link, None);
    assert_eq!((code, kind.as_str()), (200, "image/png"));
    assert_eq!(bytes, picture.into_bytes());

    // An attachment too large for the customer's channel is refused before it is stored.
    let upload = s
        .upload(
            &s.url(&format!("/mcs/v1/Services/{service}/Media")),
            big.into_bytes(),
            "image/png",
            Some((crate::harness::ACCOUNT, crate::harness::TOKEN)),
            &[],
        )
        .expect(201);
    let too_big = s.post(
        &format!("/conversations/v1/Conversations/{conversation}/Messages"),
        &[
            ("Author", "agent"),
            ("MediaSid", upload["sid"].as_str().expect("ME")),
        ],
    );
    too_big.expect_error(413, 20001);
}

#[test]
fn a_studio_address_sends_new_conversations_to_the_flex_workspace_with_no_code() {
    let provider = Receiver::start();
    let s = spawn(&provider);
    s.post(
        "/conversations/v1/Configuration/Addresses",
        &[
            ("Type", "sms"),
            ("Address", NUMBER),
            ("AutoCreation.Enabled", "true"),
            ("AutoCreation.Type", "studio"),
            (
                "AutoCreation.StudioFlowSid",
                "FW00000000000000000000000000000000",
            ),
        ],
    )
    .expect(201);
    assert_eq!(inbound(&s, "+15557654545", "hello?", "SMstudio"), 200);
    let workspaces = s.get("/taskrouter/v1/Workspaces").expect(200);
    let flex = workspaces["workspaces"]
        .as_array()
        .and_then(|w| {
            w.iter()
                .find(|w| w["friendly_name"] == "Flex Task Assignment")
                .cloned()
        })
        .expect("the Flex workspace");
    let tasks = s
        .get(&format!(
            "/taskrouter/v1/Workspaces/{}/Tasks",
            flex["sid"].as_str().expect("WS")
        ))
        .expect(200);
    let task = &tasks["tasks"][0];
    let attributes: Value =
        serde_json::from_str(task["attributes"].as_str().expect("attributes")).expect("json");
    assert_eq!(attributes["channelType"], "sms");
    assert_eq!(attributes["customerAddress"], "+15557654545");
    assert_eq!(task["task_channel_unique_name"], "sms");
}

#[test]
fn a_first_message_a_pre_event_webhook_refuses_leaves_no_conversation_and_the_next_is_routed() {
    let provider = Receiver::start();
    let hooks = Receiver::start();
    let s = spawn(&provider);
    let ws = Workspace::create(&s, "sms");
    let q = ws.queue(&s, "All", "1==1", &[]);
    let wf = ws.workflow(
        &s,
        json!({"task_routing": {"filters": [], "default_filter": {"queue": q}}}),
        120,
    );
    address(
        &s,
        &[
            ("Routing.WorkspaceSid", &ws.sid),
            ("Routing.WorkflowSid", &wf),
        ],
    );
    s.post(
        "/conversations/v1/Configuration/Webhooks",
        &[
            ("PreWebhookUrl", &format!("{}/pre", hooks.origin)),
            ("Filters", "onMessageAdd"),
        ],
    )
    .expect(200);
    hooks.answer(|r| match r.param("Body") {
        Some("spam") => Answer::status(403),
        _ => Answer::status(200),
    });
    let customer = "+15557650001";
    let tasks = || s.list_all(&ws.at("/Tasks"), "tasks");

    assert_eq!(inbound(&s, customer, "spam", "SMrefused"), 403);
    assert_eq!(conversations_of(&s, customer), Vec::<Value>::new());
    assert_eq!(tasks(), Vec::<Value>::new());

    // The next message is a new contact: a new conversation, routed to the agents.
    assert_eq!(inbound(&s, customer, "hello?", "SMallowed"), 200);
    let open = conversations_of(&s, customer);
    assert_eq!(open.len(), 1);
    let conversation = open[0]["conversation_sid"].as_str().expect("CH");
    let bodies: Vec<Value> = messages(&s, conversation)
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(bodies, [json!("hello?")]);
    assert_eq!(tasks().len(), 1);
}
