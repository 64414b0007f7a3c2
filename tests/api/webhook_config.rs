//! Global and service webhook configuration: defaults, updates that persist, validation.

use crate::harness::{TestServer, form};

#[test]
fn global_and_service_webhook_configuration() {
    let mut s = TestServer::spawn();
    let path = "/conversations/v1/Configuration/Webhooks";
    let initial = s.get(path).expect(200);
    assert_eq!(initial["method"], "POST");
    assert_eq!(initial["filters"], serde_json::json!([]));
    assert_eq!(initial["target"], "webhook");

    let body = form(&[
        ("Method", "get"),
        ("Filters", "onMessageAdd"),
        ("Filters", "onMessageAdded"),
        ("PreWebhookUrl", "https://example.com/pre"),
        ("PostWebhookUrl", "https://example.com/post"),
        ("Target", "webhook"),
    ]);
    let updated = s.post_raw(path, body, &[]).expect(200);
    assert_eq!(updated["method"], "GET");
    assert_eq!(
        updated["filters"],
        serde_json::json!(["onMessageAdd", "onMessageAdded"])
    );
    assert_eq!(updated["pre_webhook_url"], "https://example.com/pre");

    let service = s
        .post("/conversations/v1/Services", &[("FriendlyName", "hooks")])
        .expect(201);
    let sid = service["sid"].as_str().expect("IS");
    let service_path = format!("/conversations/v1/Services/{sid}/Configuration/Webhooks");
    let svc = s
        .post(
            &service_path,
            &[
                ("PostWebhookUrl", "https://example.com/svc"),
                ("Filters", "onConversationAdded"),
            ],
        )
        .expect(200);
    assert_eq!(svc["chat_service_sid"], sid);
    assert_eq!(svc["post_webhook_url"], "https://example.com/svc");

    // Durable across a restart.
    s.restart();
    assert_eq!(
        s.get(path).expect(200)["post_webhook_url"],
        "https://example.com/post"
    );
    assert_eq!(
        s.get(&service_path).expect(200)["filters"],
        serde_json::json!(["onConversationAdded"])
    );

    // An empty URL clears it; bad values are refused.
    let cleared = s.post(path, &[("PreWebhookUrl", "")]).expect(200);
    assert_eq!(cleared["pre_webhook_url"], serde_json::Value::Null);
    s.post(path, &[("Method", "PUT")]).expect_error(400, 20001);
    s.post(path, &[("Filters", "onEverything")])
        .expect_error(400, 20001);
    s.post(path, &[("PostWebhookUrl", "ftp://example.com")])
        .expect_error(400, 20001);
    s.post(path, &[("Target", "studio")])
        .expect_error(400, 20001);
}
