//! `/v1/Configuration/Addresses`: the first start's webchat address, create/fetch (by SID and
//! by address)/update/list/delete, uniqueness, and refused parameters.

use crate::harness::{TestServer, form};

const PATH: &str = "/conversations/v1/Configuration/Addresses";

#[test]
fn address_configurations_round_trip() {
    let s = TestServer::spawn();
    // The first start created the webchat address.
    let chat = s.get(&format!("{PATH}/webchat")).expect(200);
    assert_eq!(chat["type"], "chat");
    assert_eq!(chat["auto_creation"]["enabled"], true);

    let body = form(&[
        ("Type", "sms"),
        ("Address", "+15559990000"),
        ("FriendlyName", "Support line"),
        ("AutoCreation.Enabled", "true"),
        ("AutoCreation.Type", "webhook"),
        ("AutoCreation.WebhookUrl", "https://example.com/hook"),
        ("AutoCreation.WebhookMethod", "post"),
        ("AutoCreation.WebhookFilters", "onMessageAdded"),
        ("AutoCreation.WebhookFilters", "onParticipantAdded"),
    ]);
    let created = s.post_raw(PATH, body, &[]).expect(201);
    let sid = created["sid"].as_str().expect("sid").to_owned();
    assert!(sid.starts_with("IG"));
    assert_eq!(created["auto_creation"]["webhook_method"], "POST");
    assert_eq!(
        created["auto_creation"]["webhook_filters"],
        serde_json::json!(["onMessageAdded", "onParticipantAdded"])
    );
    assert!(created["url"].as_str().is_some_and(|u| u.ends_with(&sid)));

    // The address is an alternate key (URL-encoded '+').
    let by_address = s.get(&format!("{PATH}/%2B15559990000")).expect(200);
    assert_eq!(by_address["sid"], sid.as_str());

    // Unique per account.
    s.post(PATH, &[("Type", "sms"), ("Address", "+15559990000")])
        .expect_error(409, 20409);

    let updated = s
        .post(
            &format!("{PATH}/{sid}"),
            &[
                ("FriendlyName", "Billing line"),
                ("AutoCreation.Enabled", "false"),
            ],
        )
        .expect(200);
    assert_eq!(updated["friendly_name"], "Billing line");
    assert_eq!(updated["auto_creation"]["enabled"], false);
    assert_eq!(updated["auto_creation"]["type"], "webhook", "kept");

    let sms = s.get(&format!("{PATH}?Type=sms")).expect(200);
    assert_eq!(sms["meta"]["key"], "address_configurations");
    assert_eq!(
        sms["address_configurations"].as_array().map(Vec::len),
        Some(1)
    );
    let all = s.get(PATH).expect(200);
    assert_eq!(
        all["address_configurations"].as_array().map(Vec::len),
        Some(2)
    );

    s.delete(&format!("{PATH}/{sid}")).expect(204);
    s.get(&format!("{PATH}/{sid}")).expect_error(404, 20404);
}

#[test]
fn bad_address_configurations_are_refused() {
    let s = TestServer::spawn();
    s.post(PATH, &[("Address", "+15550000001")])
        .expect_error(400, 20001);
    s.post(PATH, &[("Type", "fax"), ("Address", "+15550000001")])
        .expect_error(400, 20001);
    s.post(
        PATH,
        &[
            ("Type", "sms"),
            ("Address", "+15550000001"),
            ("AutoCreation.Enabled", "true"),
            ("AutoCreation.Type", "webhook"),
        ],
    )
    .expect_error(400, 20001);
    s.post(
        PATH,
        &[
            ("Type", "sms"),
            ("Address", "+15550000001"),
            ("AutoCreation.WebhookFilters", "onEverything"),
        ],
    )
    .expect_error(400, 20001);
    s.post(
        PATH,
        &[
            ("Type", "sms"),
            ("Address", "+15550000001"),
            (
                "AutoCreation.ConversationServiceSid",
                "IS00000000000000000000000000000000",
            ),
        ],
    )
    .expect_error(400, 20001);
    s.get(&format!("{PATH}/IG00000000000000000000000000000000"))
        .expect_error(404, 20404);
}

#[test]
fn messaging_addresses_must_be_what_inbound_messages_carry() {
    let s = TestServer::spawn();
    // `+` sent unencoded arrives as a space: refused, not stored as " 1555…".
    s.post(PATH, &[("Type", "sms"), ("Address", " 15550001111")])
        .expect_error(400, 20001);
    s.post(PATH, &[("Type", "whatsapp"), ("Address", "+15550001111")])
        .expect_error(400, 20001);
    s.post(
        PATH,
        &[("Type", "sms"), ("Address", "whatsapp:+15550001111")],
    )
    .expect_error(400, 20001);
    s.post(
        PATH,
        &[("Type", "whatsapp"), ("Address", "whatsapp:+15550001111")],
    )
    .expect(201);
    s.post(PATH, &[("Type", "chat"), ("Address", "my-webchat")])
        .expect(201);
}
