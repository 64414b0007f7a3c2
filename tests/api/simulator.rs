//! `/simulator`: the customer's page and its JSON — inbound messages typed into a simulated
//! phone find or auto-create their conversation, agents' replies land on the phone (and get
//! `delivered` receipts), the event stream carries them live, and everything is scoped to the
//! account's credentials.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{ACCOUNT, TOKEN, TestServer, eventually};
use crate::ws::WAIT;

const ADDRESSES: &str = "/conversations/v1/Configuration/Addresses";
const NUMBER: &str = "+15550001111";
const CUSTOMER: &str = "+15557654321";

/// An SMS number that auto-creates conversations.
fn sms_number(s: &TestServer) {
    s.post(
        ADDRESSES,
        &[
            ("Type", "sms"),
            ("Address", NUMBER),
            ("FriendlyName", "Support line"),
            ("AutoCreation.Enabled", "true"),
        ],
    )
    .expect(201);
}

fn text(s: &TestServer, from: &str, to: &str, body: &str) -> Value {
    s.post(
        "/simulator/v1/Messages",
        &[("From", from), ("To", to), ("Body", body)],
    )
    .expect(201)
}

fn phone(s: &TestServer, customer: &str) -> Vec<Value> {
    let page = s
        .get(&format!(
            "/simulator/v1/Messages?Phone={}",
            urlencode(customer)
        ))
        .expect(200);
    page["messages"].as_array().cloned().unwrap_or_default()
}

fn urlencode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[test]
fn texts_from_a_simulated_phone_reach_one_conversation() {
    let s = TestServer::spawn();
    sms_number(&s);

    let numbers = s.get("/simulator/v1/Numbers").expect(200);
    let numbers = numbers["numbers"].as_array().expect("numbers");
    assert_eq!(
        numbers.len(),
        1,
        "the chat address is not textable: {numbers:?}"
    );
    assert_eq!(numbers[0]["address"], NUMBER);
    assert_eq!(numbers[0]["type"], "sms");
    assert_eq!(numbers[0]["friendly_name"], "Support line");

    let first = text(&s, CUSTOMER, NUMBER, "Hello, my order is late");
    assert!(first["sid"].as_str().is_some_and(|v| v.starts_with("SM")));
    assert_eq!(first["created"], true);
    assert_eq!(first["message_index"], 0);
    let conversation = first["conversation_sid"].as_str().expect("sid").to_owned();

    let participants = s
        .get(&format!("/Conversations/{conversation}/Participants"))
        .expect(200);
    let participants = participants["participants"].as_array().expect("list");
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0]["messaging_binding"]["address"], CUSTOMER);
    assert_eq!(
        participants[0]["messaging_binding"]["proxy_address"],
        NUMBER
    );

    let second = text(&s, CUSTOMER, NUMBER, "Order 1234");
    assert_eq!(second["conversation_sid"], conversation.as_str());
    assert_eq!(second["created"], false);
    assert_eq!(second["message_index"], 1);

    let messages = s
        .get(&format!("/Conversations/{conversation}/Messages"))
        .expect(200);
    let messages = messages["messages"].as_array().expect("list");
    let seen: Vec<_> = messages
        .iter()
        .map(|m| (m["author"].clone(), m["body"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (CUSTOMER.into(), "Hello, my order is late".into()),
            (CUSTOMER.into(), "Order 1234".into()),
        ]
    );

    // The phone shows what the customer sent.
    let history = phone(&s, CUSTOMER);
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|m| m["direction"] == "inbound"));
    assert_eq!(history[0]["sid"], first["sid"]);
    assert_eq!(history[1]["body"], "Order 1234");
}

#[test]
fn an_agent_reply_lands_on_the_phone_and_is_delivered() {
    let s = TestServer::spawn();
    sms_number(&s);
    let first = text(&s, CUSTOMER, NUMBER, "Anyone there?");
    let conversation = first["conversation_sid"].as_str().expect("sid").to_owned();

    let reply = s
        .post(
            &format!("/Conversations/{conversation}/Messages"),
            &[("Author", "agent"), ("Body", "Yes, how can I help?")],
        )
        .expect(201);
    let message = reply["sid"].as_str().expect("sid").to_owned();

    let outbound = eventually(WAIT, || {
        phone(&s, CUSTOMER)
            .into_iter()
            .find(|m| m["direction"] == "outbound")
    });
    assert_eq!(outbound["body"], "Yes, how can I help?");
    assert_eq!(outbound["from"], NUMBER);
    assert_eq!(outbound["to"], CUSTOMER);

    let receipt = eventually(WAIT, || {
        let page = s
            .get(&format!(
                "/Conversations/{conversation}/Messages/{message}/Receipts"
            ))
            .expect(200);
        page["delivery_receipts"]
            .as_array()
            .and_then(|r| r.first().cloned())
            .filter(|r| r["status"] == "delivered")
    });
    assert_eq!(receipt["channel_message_sid"], outbound["sid"]);
}

#[test]
fn the_stream_carries_new_messages_of_the_phone() {
    let s = TestServer::spawn();
    sms_number(&s);
    switchboard::webhooks::install_tls_provider();
    let client = reqwest::blocking::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("client");
    let resp = client
        .get(format!(
            "{}/simulator/v1/Stream?Phone={}",
            s.origin,
            urlencode(CUSTOMER)
        ))
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .expect("stream opens");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"))
    );

    // Another phone's message is not in this stream; this phone's is.
    text(&s, "+15550009999", NUMBER, "someone else");
    let sent = text(&s, CUSTOMER, NUMBER, "streamed hello");

    let deadline = Instant::now() + WAIT;
    let mut lines = BufReader::new(resp).lines();
    let event = loop {
        assert!(Instant::now() < deadline, "no event within {WAIT:?}");
        let line = lines.next().expect("stream still open").expect("line");
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let event: Value = serde_json::from_str(data).expect("JSON event");
        assert_ne!(event["body"], "someone else", "other phones stay out");
        if event["body"] == "streamed hello" {
            break event;
        }
    };
    assert_eq!(event["sid"], sent["sid"]);
    assert_eq!(event["direction"], "inbound");
    assert_eq!(event["from"], CUSTOMER);
    assert_eq!(event["to"], NUMBER);
}

#[test]
fn the_page_asks_for_the_account_credentials() {
    let s = TestServer::spawn();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    let anonymous = http
        .get(format!("{}/simulator", s.origin))
        .send()
        .expect("sent");
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(
        anonymous
            .headers()
            .get("WWW-Authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"Switchboard simulator\"")
    );
    s.as_user("GET", "/simulator/v1/Numbers", None, &[])
        .expect_error(401, 20003);
    s.as_user(
        "GET",
        "/simulator/v1/Numbers",
        Some((ACCOUNT, "wrong-token-0123456789")),
        &[],
    )
    .expect_error(401, 20003);

    let page = http
        .get(format!("{}/simulator", s.origin))
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .expect("sent");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page
        .headers()
        .get("Content-Security-Policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = page.text().expect("html");
    assert!(html.contains("<sim-thread"));

    for (asset, kind) in [
        ("simulator.js", "text/javascript"),
        ("model.js", "text/javascript"),
        ("simulator.css", "text/css"),
    ] {
        let (status, content_type, body) =
            s.download(&format!("{}/simulator/assets/{asset}", s.origin), None);
        assert_eq!(status, 200, "{asset}");
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
        assert!(!body.is_empty());
    }
    let (status, _, _) = s.download(&format!("{}/simulator/assets/secret.txt", s.origin), None);
    assert_eq!(status, 404);
}

#[test]
fn bad_texts_are_refused() {
    let s = TestServer::spawn();
    sms_number(&s);
    let post = |pairs: &[(&str, &str)]| s.post("/simulator/v1/Messages", pairs);

    // Not one of the account's numbers (the chat address is not a number either).
    post(&[("From", CUSTOMER), ("To", "+15550002222"), ("Body", "hi")]).expect_error(404, 20404);
    post(&[("From", CUSTOMER), ("To", "webchat"), ("Body", "hi")]).expect_error(404, 20404);
    // A From no phone has.
    post(&[("From", "not-a-number"), ("To", NUMBER), ("Body", "hi")]).expect_error(400, 50407);
    post(&[("To", NUMBER), ("Body", "hi")]).expect_error(400, 20001);
    // A WhatsApp sender texting an SMS number.
    post(&[
        ("From", &format!("whatsapp:{CUSTOMER}")),
        ("To", NUMBER),
        ("Body", "hi"),
    ])
    .expect_error(400, 20001);
    post(&[("From", CUSTOMER), ("To", NUMBER), ("Body", "  ")]).expect_error(400, 20001);
    let long = "x".repeat(1601);
    post(&[("From", CUSTOMER), ("To", NUMBER), ("Body", &long)]).expect_error(400, 21617);
    s.get("/simulator/v1/Messages?Phone=12")
        .expect_error(400, 50407);
    s.get("/simulator/v1/Messages").expect_error(400, 20001);
    assert!(phone(&s, CUSTOMER).is_empty(), "refused texts never show");

    // A number that does not auto-create conversations.
    s.post(ADDRESSES, &[("Type", "sms"), ("Address", "+15550003333")])
        .expect(201);
    post(&[("From", CUSTOMER), ("To", "+15550003333"), ("Body", "hi")]).expect_error(403, 20403);
}

#[test]
fn phones_and_numbers_belong_to_their_account() {
    let s = TestServer::spawn();
    sms_number(&s);
    text(&s, CUSTOMER, NUMBER, "private");

    let sub = s
        .post(
            "/api/2010-04-01/Accounts.json",
            &[("FriendlyName", "other")],
        )
        .expect(201);
    let (sid, token) = (
        sub["sid"].as_str().expect("sid").to_owned(),
        sub["auth_token"].as_str().expect("token").to_owned(),
    );
    let other = Some((sid.as_str(), token.as_str()));
    let numbers = s
        .as_user("GET", "/simulator/v1/Numbers", other, &[])
        .expect(200);
    assert_eq!(numbers["numbers"], serde_json::json!([]));
    s.as_user(
        "POST",
        "/simulator/v1/Messages",
        other,
        &[("From", CUSTOMER), ("To", NUMBER), ("Body", "hi")],
    )
    .expect_error(404, 20404);
    let history = s
        .as_user(
            "GET",
            &format!("/simulator/v1/Messages?Phone={}", urlencode(CUSTOMER)),
            other,
            &[],
        )
        .expect(200);
    assert_eq!(history["messages"], serde_json::json!([]));
}
