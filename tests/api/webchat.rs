//! Web chat: Flex's `POST /flex-api/v2/WebChats`, the widget's guest-token endpoints
//! (`/switchboard/v1/Webchat/Start` and `/Refresh`), the `participants` command, the REST
//! routes a desktop user's token opens, and the web client's files.

use serde_json::{Value, json};

use crate::harness::TestServer;
use crate::receiver::{Answer, Receiver};
use crate::ws::{Minter, Ws};

const START: &str = "/switchboard/v1/Webchat/Start";
const REFRESH: &str = "/switchboard/v1/Webchat/Refresh";

/// The webchat address every account starts with.
fn chat_address(s: &TestServer) -> String {
    let a = s
        .get("/conversations/v1/Configuration/Addresses/webchat")
        .expect(200);
    a["sid"].as_str().expect("IG").to_owned()
}

/// The Flex workspace's SID and an available worker in it.
fn flex_worker(s: &TestServer, name: &str) -> (String, String) {
    let list = s.get("/taskrouter/v1/Workspaces").expect(200);
    let ws = list["workspaces"]
        .as_array()
        .expect("workspaces")
        .iter()
        .find(|w| w["friendly_name"] == "Flex Task Assignment")
        .expect("Flex workspace")["sid"]
        .as_str()
        .expect("WS")
        .to_owned();
    let base = format!("/taskrouter/v1/Workspaces/{ws}");
    let acts = s
        .get(&format!("{base}/Activities?FriendlyName=Available"))
        .expect(200);
    let available = acts["activities"][0]["sid"].as_str().expect("activity");
    let attrs = json!({"contact_uri": format!("client:{name}"), "full_name": "Alice Example"});
    let worker = s
        .post(
            &format!("{base}/Workers"),
            &[
                ("FriendlyName", name),
                ("Attributes", &attrs.to_string()),
                ("ActivitySid", available),
            ],
        )
        .expect(201)["sid"]
        .as_str()
        .expect("WK")
        .to_owned();
    (ws, worker)
}

/// A request with a token header and no account credentials.
fn with_token(s: &TestServer, method: &str, path: &str, token: &str) -> (u16, Value) {
    let http = reqwest::blocking::Client::new();
    let url = s.url(path);
    let req = match method {
        "GET" => http.get(url),
        _ => http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded"),
    };
    let resp = req.header("X-Twilio-Token", token).send().expect("sent");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn refresh(s: &TestServer, token: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(s.url(REFRESH))
        .bearer_auth(token)
        .send()
        .expect("sent")
}

#[test]
fn a_widget_chat_starts_with_the_question_reaches_an_agent_and_survives_a_refresh() {
    let s = TestServer::spawn();
    let address = chat_address(&s);
    let (ws, worker) = flex_worker(&s, "alice");
    let minter = Minter::new(&s);
    let (mut desk, _) = Ws::session(
        &s,
        &minter.worker_token("alice", "agent", &ws, Some(&worker)),
    );

    // The widget posts its form with no credentials.
    let started = s
        .as_user(
            "POST",
            START,
            None,
            &[
                ("AddressSid", &address),
                ("FriendlyName", "Ana Lima"),
                ("Email", "ana@example.com"),
                ("Question", "Where is my order?"),
                ("PreEngagementData", r#"{"order": "A-17"}"#),
            ],
        )
        .expect(201);
    let conversation = started["conversation_sid"].as_str().expect("CH").to_owned();
    let identity = started["identity"].as_str().expect("identity").to_owned();
    assert!(identity.starts_with("guest-"));
    assert_eq!(started["conversation_state"], "active");
    let token = started["token"].as_str().expect("token").to_owned();

    // The guest token opens a guest session on that conversation, whose first message is the
    // question, written by the customer.
    let (mut guest, session) = Ws::session(&s, &token);
    assert_eq!(session["role"], "guest");
    assert_eq!(session["identity"], identity.as_str());
    assert_eq!(
        session["conversations"][0]["conversation"]["sid"],
        conversation.as_str()
    );
    let history = guest.ok("history", json!({"conversation_sid": conversation}));
    assert_eq!(history["messages"][0]["body"], "Where is my order?");
    assert_eq!(history["messages"][0]["author"], identity.as_str());

    // The agent is offered a `web` task carrying the customer's name and form.
    let offer = desk.event("reservation_created");
    let attrs = &offer["data"]["reservation"]["task"]["attributes"];
    assert_eq!(attrs["channelType"], "web");
    assert_eq!(attrs["conversationSid"], conversation.as_str());
    assert_eq!(attrs["customerName"], "Ana Lima");
    assert_eq!(attrs["pre_engagement_data"]["email"], "ana@example.com");
    assert_eq!(attrs["pre_engagement_data"]["order"], "A-17");
    let reservation = offer["data"]["reservation"]["sid"].clone();
    desk.ok("accept", json!({"reservation_sid": reservation}));

    // The customer sees the agent join, under the name customers see.
    let joined = guest.event("participant_added");
    assert_eq!(joined["data"]["identity"], "alice");
    let shown: Value = serde_json::from_str(joined["data"]["attributes"].as_str().expect("text"))
        .expect("JSON attributes");
    assert_eq!(shown["friendlyName"], "Alice Example");
    // …and can list who is there.
    let people = guest.ok("participants", json!({"conversation_sid": conversation}));
    let names: Vec<&str> = people["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter_map(|p| p["identity"].as_str())
        .collect();
    assert_eq!(names, [identity.as_str(), "alice"]);
    let err = guest.err(
        "participants",
        json!({"conversation_sid": "CH00000000000000000000000000000000"}),
    );
    assert_eq!(err["code"], 20404);

    // A refresh trades the token for a fresh one on the same chat.
    let fresh = refresh(&s, &token);
    assert_eq!(fresh.status(), 200);
    let fresh: Value = fresh.json().expect("JSON");
    assert_eq!(fresh["conversation_sid"], conversation.as_str());
    assert_eq!(fresh["identity"], identity.as_str());
    assert_eq!(fresh["friendly_name"], "Ana Lima");
    let (_, again) = Ws::session(&s, fresh["token"].as_str().expect("token"));
    assert_eq!(again["identity"], identity.as_str());

    // Once the customer is no longer in the chat, the token is not renewed.
    assert_eq!(
        s.delete(&format!(
            "/Conversations/{conversation}/Participants/{identity}"
        ))
        .status,
        204
    );
    let gone = refresh(&s, &token);
    assert_eq!(gone.status(), 401);
    assert!(gone.headers().get("WWW-Authenticate").is_none());
}

#[test]
fn bad_widget_requests_get_clear_errors() {
    let s = TestServer::spawn();
    let address = chat_address(&s);
    let start = |pairs: &[(&str, &str)]| s.as_user("POST", START, None, pairs);
    let err = start(&[("FriendlyName", "Ana")]).expect_error(400, 20001);
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("AddressSid")
    );
    start(&[("AddressSid", &address)]).expect_error(400, 20001);
    start(&[("AddressSid", &address), ("FriendlyName", "   ")]).expect_error(400, 20001);
    start(&[
        ("AddressSid", &address),
        ("FriendlyName", "Ana"),
        ("Email", "not-an-email"),
    ])
    .expect_error(400, 20001);
    start(&[
        ("AddressSid", &address),
        ("FriendlyName", "Ana"),
        ("PreEngagementData", "[1, 2]"),
    ])
    .expect_error(400, 20001);
    start(&[
        ("AddressSid", "IG00000000000000000000000000000000"),
        ("FriendlyName", "Ana"),
    ])
    .expect_error(400, 20001);
    let long = "x".repeat(65);
    start(&[("AddressSid", &address), ("FriendlyName", &long)]).expect_error(400, 20001);
    // An SMS address is not a webchat deployment.
    let sms = s
        .post(
            "/conversations/v1/Configuration/Addresses",
            &[("Type", "sms"), ("Address", "+15550009999")],
        )
        .expect(201);
    start(&[
        ("AddressSid", sms["sid"].as_str().expect("IG")),
        ("FriendlyName", "Ana"),
    ])
    .expect_error(400, 20001);
    // Refresh takes only guest tokens minted by Start.
    assert_eq!(refresh(&s, "garbage").status(), 401);
    let other = Minter::new(&s).token("guest-x", None);
    assert_eq!(refresh(&s, &other).status(), 401);
    // The widget calls these from other sites.
    let preflight = reqwest::blocking::Client::new()
        .request(reqwest::Method::OPTIONS, s.url(START))
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .expect("sent");
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
}

#[test]
fn flex_web_chats_create_the_conversation_and_customer_for_a_site_backend() {
    let s = TestServer::spawn();
    let address = chat_address(&s);
    let made = s
        .post(
            "/flex-api/v2/WebChats",
            &[
                ("AddressSid", &address),
                ("ChatFriendlyName", "Webchat widget"),
                ("CustomerFriendlyName", "Ana"),
                (
                    "PreEngagementData",
                    r#"{"friendlyName": "Ana", "topic": "returns"}"#,
                ),
                ("Identity", "customer-ana"),
            ],
        )
        .expect(201);
    assert_eq!(made.as_object().map(|m| m.len()), Some(2), "{made}");
    assert_eq!(made["identity"], "customer-ana");
    let conversation = made["conversation_sid"].as_str().expect("CH");
    let c = s.get(&format!("/Conversations/{conversation}")).expect(200);
    assert_eq!(c["friendly_name"], "Webchat widget");
    let p = s
        .get(&format!(
            "/Conversations/{conversation}/Participants/customer-ana"
        ))
        .expect(200);
    let attrs: Value = serde_json::from_str(p["attributes"].as_str().expect("text")).expect("JSON");
    assert_eq!(attrs["friendlyName"], "Ana");
    assert_eq!(attrs["pre_engagement_data"]["topic"], "returns");
    // Basic auth is required, and the address must be a chat address of the account.
    assert_eq!(
        s.as_user(
            "POST",
            "/flex-api/v2/WebChats",
            None,
            &[("AddressSid", &address)]
        )
        .status,
        401
    );
    s.post("/flex-api/v2/WebChats", &[])
        .expect_error(400, 20001);
}

#[test]
fn a_desktop_token_opens_only_the_routes_its_role_needs_in_its_workspace() {
    let s = TestServer::spawn();
    let (ws, worker) = flex_worker(&s, "alice");
    let minter = Minter::new(&s);
    let agent = minter.worker_token("alice", "agent", &ws, Some(&worker));
    let supervisor = minter.worker_token("sam", "supervisor", &ws, None);
    let guest = minter.token("guest-1", None);
    let queues = format!("/taskrouter/v1/Workspaces/{ws}/TaskQueues");
    let tasks = format!("/taskrouter/v1/Workspaces/{ws}/Tasks");

    let (status, body) = with_token(&s, "GET", &queues, &agent);
    assert_eq!(status, 200, "{body}");
    assert!(
        body["task_queues"]
            .as_array()
            .is_some_and(|q| !q.is_empty())
    );
    assert_eq!(with_token(&s, "GET", &tasks, &agent).0, 403);
    assert_eq!(
        with_token(&s, "GET", "/conversations/v1/Conversations", &agent).0,
        403
    );
    assert_eq!(
        with_token(&s, "GET", "/switchboard/v1/Logins", &agent).0,
        403
    );
    assert_eq!(
        with_token(&s, "POST", "/conversations/v1/Conversations", &agent).0,
        403
    );

    assert_eq!(with_token(&s, "GET", &tasks, &supervisor).0, 200);
    let (status, body) = with_token(&s, "GET", "/conversations/v1/Conversations", &supervisor);
    assert_eq!(status, 200, "{body}");

    // Another workspace, a guest, or a broken token: refused, without a password prompt.
    let other = crate::taskrouter::Ws::create(&s, "other");
    let other_queues = format!("/taskrouter/v1/Workspaces/{}/TaskQueues", other.sid);
    assert_eq!(with_token(&s, "GET", &other_queues, &agent).0, 403);
    assert_eq!(with_token(&s, "GET", &queues, &guest).0, 403);
    let resp = reqwest::blocking::Client::new()
        .get(s.url(&queues))
        .header("X-Twilio-Token", "garbage")
        .send()
        .expect("sent");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().get("WWW-Authenticate").is_none());
}

#[test]
fn the_web_client_is_served_with_a_strict_policy() {
    let s = TestServer::spawn();
    let http = reqwest::blocking::Client::new();
    let desktop = http
        .get(s.url("/switchboard-desktop-probe"))
        .send()
        .expect("sent");
    assert_eq!(desktop.status(), 404);
    for page in ["/desktop", "/webchat/demo"] {
        let resp = http
            .get(format!("{}{page}", s.origin))
            .send()
            .expect("sent");
        assert_eq!(resp.status(), 200, "{page}");
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        let html = resp.text().expect("text");
        assert!(!html.contains("<script>"), "{page} has an inline script");
        if page == "/webchat/demo" {
            assert!(html.contains(&format!(
                "data-switchboard-address=\"{}\"",
                chat_address(&s)
            )));
        }
    }
    let widget = http
        .get(format!("{}/webchat/widget.js", s.origin))
        .send()
        .expect("sent");
    assert_eq!(widget.status(), 200);
    assert_eq!(widget.headers()["access-control-allow-origin"], "*");
    assert!(
        widget.headers()["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/javascript"))
    );
    for missing in [
        "/sdk/nothing.js",
        "/sdk/../Cargo.toml",
        "/sdk/%2e%2e/Cargo.toml",
        "/webchat/demo.html",
        "/desktop/.hidden.js",
    ] {
        let resp = http
            .get(format!("{}{missing}", s.origin))
            .send()
            .expect("sent");
        assert_eq!(resp.status(), 404, "{missing}");
    }
}

#[test]
fn a_chat_whose_question_a_pre_event_webhook_refuses_is_not_started() {
    let hooks = Receiver::start();
    let s = TestServer::spawn();
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
    let address = chat_address(&s);
    let (ws, _) = flex_worker(&s, "alice");
    let start = |question: &str| {
        s.as_user(
            "POST",
            START,
            None,
            &[
                ("AddressSid", &address),
                ("FriendlyName", "Ana Lima"),
                ("Question", question),
            ],
        )
    };
    let tasks = || s.list_all(&format!("/taskrouter/v1/Workspaces/{ws}/Tasks"), "tasks");
    let conversations = || s.list_all("/conversations/v1/Conversations", "conversations");

    // The refusal is the answer, and nothing of the chat stays: no conversation, no task.
    let refused = start("spam");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body["code"].is_number(), "{}", refused.body);
    assert_eq!(conversations(), Vec::<Value>::new());
    assert_eq!(tasks(), Vec::<Value>::new());

    // A question the hook lets through starts a chat that reaches the agents.
    let started = start("Where is my order?").expect(201);
    let listed = conversations();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["sid"], started["conversation_sid"]);
    assert_eq!(tasks().len(), 1);
}
