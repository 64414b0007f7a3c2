//! `/v1/Conversations/{CH}/Webhooks`: create/fetch/update/list/delete for each target, the
//! refused parameters, the limit of five, tenancy (another account's or service's conversation
//! is 404), durability across a restart, and webhooks going away with their conversation.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use crate::harness::{TestServer, form};

/// Longest wait for a delivery.
const WAIT: Duration = Duration::from_secs(10);

/// A received request: its path and form parameters.
type Captured = (String, Vec<(String, String)>);

/// An HTTP listener answering 204 to every request and handing back its path and form body.
fn listener() -> (String, mpsc::Receiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(100) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut length = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(": ")
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let params = form_urlencoded::parse(&body).into_owned().collect();
            let _ = tx.send((path, params));
        }
    });
    (origin, rx)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn hooks_path(conversation: &str) -> String {
    format!("/Conversations/{conversation}/Webhooks")
}

fn webhook(s: &TestServer, conversation: &str, url: &str) -> String {
    let created = s
        .post(
            &hooks_path(conversation),
            &[
                ("Target", "webhook"),
                ("Configuration.Url", url),
                ("Configuration.Filters", "onMessageAdded"),
            ],
        )
        .expect(201);
    created["sid"].as_str().expect("sid").to_owned()
}

#[test]
fn conversation_webhooks_round_trip() {
    let mut s = TestServer::spawn();
    let conv = s.conversation(&[("UniqueName", "hooked")]);
    let path = hooks_path(&conv);

    let body = form(&[
        ("Target", "webhook"),
        ("Configuration.Url", "https://example.com/hook"),
        ("Configuration.Method", "get"),
        ("Configuration.Filters", "onMessageAdded"),
        ("Configuration.Filters", "onParticipantAdded"),
        ("Configuration.ReplayAfter", "0"),
    ]);
    let created = s.post_raw(&path, body, &[]).expect(201);
    let sid = created["sid"].as_str().expect("sid").to_owned();
    assert!(sid.starts_with("WH") && sid.len() == 34, "{sid}");
    assert_eq!(created["account_sid"], crate::harness::ACCOUNT);
    assert_eq!(created["conversation_sid"], conv.as_str());
    assert!(
        created["chat_service_sid"]
            .as_str()
            .is_some_and(|x| x.starts_with("IS"))
    );
    assert_eq!(created["target"], "webhook");
    assert_eq!(
        created["configuration"],
        json!({
            "url": "https://example.com/hook",
            "method": "GET",
            "filters": ["onMessageAdded", "onParticipantAdded"],
        })
    );
    assert_eq!(
        created["url"],
        s.url(&format!("{path}/{sid}")).as_str(),
        "resource URL"
    );
    assert!(
        created["date_created"]
            .as_str()
            .is_some_and(|d| d.ends_with('Z'))
    );

    // The conversation's unique name works in the path too.
    let fetched = s
        .get(&format!("/Conversations/hooked/Webhooks/{sid}"))
        .expect(200);
    assert_eq!(fetched["sid"], sid.as_str());

    let trigger = s
        .post(
            &path,
            &[
                ("Target", "trigger"),
                ("Configuration.Url", "https://example.com/trigger"),
                ("Configuration.Triggers", "help"),
                ("Configuration.Triggers", "agent"),
            ],
        )
        .expect(201);
    assert_eq!(
        trigger["configuration"],
        json!({
            "url": "https://example.com/trigger",
            "method": "POST",
            "filters": ["help", "agent"],
            "triggers": ["help", "agent"],
        })
    );
    let studio = s
        .post(
            &path,
            &[
                ("Target", "studio"),
                (
                    "Configuration.FlowSid",
                    "FW0123456789abcdef0123456789abcdef",
                ),
            ],
        )
        .expect(201);
    assert_eq!(
        studio["configuration"],
        json!({"flow_sid": "FW0123456789abcdef0123456789abcdef"})
    );

    // Update: only what is sent changes.
    let updated = s
        .post(
            &format!("{path}/{sid}"),
            &[
                ("Configuration.Method", "POST"),
                ("Configuration.Filters", "onMessageRemoved"),
            ],
        )
        .expect(200);
    assert_eq!(updated["configuration"]["method"], "POST");
    assert_eq!(updated["configuration"]["url"], "https://example.com/hook");
    assert_eq!(
        updated["configuration"]["filters"],
        json!(["onMessageRemoved"])
    );
    s.post(
        &format!("{path}/{sid}"),
        &[("Configuration.Filters", "onMessageAdd")],
    )
    .expect_error(400, 20001);

    // List, oldest first, paged as Twilio does.
    let page = s.get(&format!("{path}?PageSize=2")).expect(200);
    assert_eq!(page["meta"]["key"], "webhooks");
    assert_eq!(page["webhooks"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["webhooks"][0]["sid"], sid.as_str());
    let all = s.list_all(&format!("{path}?PageSize=2"), "webhooks");
    assert_eq!(all.len(), 3);

    // Durable across a restart.
    s.restart();
    let again = s.get(&format!("{path}/{sid}")).expect(200);
    assert_eq!(
        again["configuration"]["filters"],
        json!(["onMessageRemoved"])
    );

    assert_eq!(s.delete(&format!("{path}/{sid}")).status, 204);
    s.get(&format!("{path}/{sid}")).expect_error(404, 20404);
    s.delete(&format!("{path}/{sid}")).expect_error(404, 20404);
    assert_eq!(s.list_all(&path, "webhooks").len(), 2);
    s.get(&format!("{path}/WH00000000000000000000000000000000"))
        .expect_error(404, 20404);
    s.get(&format!("{path}/not-a-sid")).expect_error(404, 20404);
}

#[test]
fn conversation_webhook_parameters_are_validated() {
    let s = TestServer::spawn();
    let conv = s.conversation(&[]);
    let path = hooks_path(&conv);
    let refused: &[&[(&str, &str)]] = &[
        &[("Configuration.Url", "https://example.com/")],
        &[
            ("Target", "flex"),
            ("Configuration.Url", "https://example.com/"),
        ],
        &[("Target", "webhook")],
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "ftp://example.com/"),
        ],
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "https://example.com/"),
            ("Configuration.Method", "PUT"),
        ],
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "https://example.com/"),
            ("Configuration.Filters", "onMessageAdd"),
        ],
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "https://example.com/"),
            ("Configuration.ReplayAfter", "-1"),
        ],
        &[
            ("Target", "trigger"),
            ("Configuration.Url", "https://example.com/"),
        ],
        &[("Target", "trigger"), ("Configuration.Triggers", "help")],
        &[("Target", "studio")],
        &[("Target", "studio"), ("Configuration.FlowSid", "WW123")],
    ];
    for pairs in refused {
        let body = s.post(&path, pairs).expect_error(400, 20001);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("Target") || m.contains("Configuration.")),
            "names the parameter: {body}"
        );
    }
    let missing = s
        .post(&path, &[("Target", "webhook")])
        .expect_error(400, 20001);
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.contains("Configuration.Url")),
        "{missing}"
    );
    assert!(
        s.list_all(&path, "webhooks").is_empty(),
        "nothing was stored"
    );
}

#[test]
fn at_most_five_webhooks_per_conversation() {
    let s = TestServer::spawn();
    let conv = s.conversation(&[]);
    let sids: Vec<String> = (0..5)
        .map(|i| webhook(&s, &conv, &format!("https://example.com/{i}")))
        .collect();
    let refused = s
        .post(
            &hooks_path(&conv),
            &[
                ("Target", "studio"),
                (
                    "Configuration.FlowSid",
                    "FW0123456789abcdef0123456789abcdef",
                ),
            ],
        )
        .expect_error(409, 20409);
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains('5')),
        "{refused}"
    );
    // Another conversation has its own five.
    let other = s.conversation(&[]);
    webhook(&s, &other, "https://example.com/other");
    // Deleting one makes room again.
    assert_eq!(
        s.delete(&format!("{}/{}", hooks_path(&conv), sids[0]))
            .status,
        204
    );
    webhook(&s, &conv, "https://example.com/again");
}

#[test]
fn webhooks_belong_to_their_conversation_account_and_service() {
    let s = TestServer::spawn();
    let conv = s.conversation(&[]);
    let sid = webhook(&s, &conv, "https://example.com/hook");

    // Unknown conversation.
    s.get(&hooks_path("CH00000000000000000000000000000000"))
        .expect_error(404, 20404);
    s.post(
        &hooks_path("no-such-name"),
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "https://example.com/"),
        ],
    )
    .expect_error(404, 20404);

    // Another conversation's path does not reach the webhook.
    let other = s.conversation(&[]);
    s.get(&format!("{}/{sid}", hooks_path(&other)))
        .expect_error(404, 20404);
    s.delete(&format!("{}/{sid}", hooks_path(&other)))
        .expect_error(404, 20404);

    // Another account sees nothing.
    let sub = s.post("/api/2010-04-01/Accounts.json", &[]).expect(201);
    let auth = Some((
        sub["sid"].as_str().expect("sid"),
        sub["auth_token"].as_str().expect("token"),
    ));
    let url = format!("/conversations/v1{}", hooks_path(&conv));
    s.as_user("GET", &url, auth, &[]).expect_error(404, 20404);
    s.as_user("GET", &format!("{url}/{sid}"), auth, &[])
        .expect_error(404, 20404);
    s.as_user(
        "POST",
        &url,
        auth,
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "https://example.com/"),
        ],
    )
    .expect_error(404, 20404);

    // The service-scoped path works for a conversation of that service, and only for it.
    let service = s
        .post("/conversations/v1/Services", &[("FriendlyName", "hooks")])
        .expect(201);
    let isid = service["sid"].as_str().expect("IS");
    let scoped = s
        .post(&format!("/Services/{isid}/Conversations"), &[])
        .expect(201);
    let scoped_sid = scoped["sid"].as_str().expect("CH");
    let in_service = format!("/Services/{isid}{}", hooks_path(scoped_sid));
    let created = s
        .post(
            &in_service,
            &[
                ("Target", "webhook"),
                ("Configuration.Url", "https://example.com/svc"),
            ],
        )
        .expect(201);
    assert_eq!(created["chat_service_sid"], isid);
    assert!(
        created["url"]
            .as_str()
            .is_some_and(|u| u.contains(&format!("/Services/{isid}/Conversations/"))),
        "{created}"
    );
    assert_eq!(s.list_all(&in_service, "webhooks").len(), 1);
    s.get(&hooks_path(scoped_sid)).expect_error(404, 20404);
    s.get(&format!("/Services/{isid}{}", hooks_path(&conv)))
        .expect_error(404, 20404);
}

#[test]
fn deleting_a_conversation_deletes_its_webhooks() {
    let mut s = TestServer::spawn();
    let conv = s.conversation(&[]);
    let sid = webhook(&s, &conv, "https://example.com/hook");
    assert_eq!(s.delete(&format!("/Conversations/{conv}")).status, 204);
    s.get(&hooks_path(&conv)).expect_error(404, 20404);
    s.get(&format!("{}/{sid}", hooks_path(&conv)))
        .expect_error(404, 20404);
    s.restart();
    s.get(&format!("{}/{sid}", hooks_path(&conv)))
        .expect_error(404, 20404);

    // And a deleted service takes its conversations' webhooks along.
    let service = s
        .post("/conversations/v1/Services", &[("FriendlyName", "gone")])
        .expect(201);
    let isid = service["sid"].as_str().expect("IS");
    let scoped = s
        .post(&format!("/Services/{isid}/Conversations"), &[])
        .expect(201);
    let scoped_sid = scoped["sid"].as_str().expect("CH");
    let in_service = format!("/Services/{isid}{}", hooks_path(scoped_sid));
    s.post(
        &in_service,
        &[
            ("Target", "webhook"),
            ("Configuration.Url", "https://example.com/svc"),
        ],
    )
    .expect(201);
    assert_eq!(s.delete(&format!("/Services/{isid}")).status, 204);
    s.get(&in_service).expect_error(404, 20404);
}

/// A webhook added over REST fires at once and follows its updates.
#[test]
fn a_webhook_created_over_rest_fires_and_follows_updates() {
    let s = TestServer::spawn();
    let (origin, received) = listener();
    let conv = s.conversation(&[]);
    let path = hooks_path(&conv);
    let sid = webhook(&s, &conv, &format!("{origin}/first"));
    let send = |body: &str| {
        s.post_raw(
            &format!("/Conversations/{conv}/Messages"),
            form(&[("Author", "agent"), ("Body", body)]),
            &[("X-Twilio-Webhook-Enabled", "true")],
        )
        .expect(201)
    };
    send("one");
    let (at, params) = received.recv_timeout(WAIT).expect("delivered");
    assert_eq!(at, "/first");
    assert_eq!(param(&params, "EventType"), Some("onMessageAdded"));
    assert_eq!(param(&params, "WebhookSid"), Some(sid.as_str()));
    assert_eq!(param(&params, "WebhookType"), Some("webhook"));
    assert_eq!(param(&params, "Body"), Some("one"));

    s.post(
        &format!("{path}/{sid}"),
        &[("Configuration.Url", &format!("{origin}/second"))],
    )
    .expect(200);
    send("two");
    let (at, params) = received.recv_timeout(WAIT).expect("delivered");
    assert_eq!(at, "/second");
    assert_eq!(param(&params, "Body"), Some("two"));
}
