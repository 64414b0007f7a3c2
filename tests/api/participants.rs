//! Participants: chat and messaging, conflicts, read horizons, alternate key.

use crate::harness::TestServer;

#[test]
fn chat_participants_by_sid_and_identity_with_read_horizon() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let p = s
        .post(
            &format!("/Conversations/{c}/Participants"),
            &[("Identity", "alice"), ("Attributes", r#"{"vip":true}"#)],
        )
        .expect(201);
    let psid = p["sid"].as_str().expect("sid");
    assert!(psid.starts_with("MB"));
    assert_eq!(p["messaging_binding"], serde_json::Value::Null);
    assert!(
        p["role_sid"].as_str().is_some_and(|r| r.starts_with("RL")),
        "default conversation role"
    );
    assert_eq!(p["last_read_message_index"], serde_json::Value::Null);

    assert_eq!(
        s.get(&format!("/Conversations/{c}/Participants/alice"))
            .expect(200)["sid"],
        psid
    );
    let u = s
        .post(
            &format!("/Conversations/{c}/Participants/{psid}"),
            &[
                ("LastReadMessageIndex", "3"),
                ("LastReadTimestamp", "2024-05-01T10:00:00Z"),
            ],
        )
        .expect(200);
    assert_eq!(u["last_read_message_index"], 3);
    assert_eq!(u["last_read_timestamp"], "2024-05-01T10:00:00Z");
    assert_eq!(
        s.get(&format!("/Conversations/{c}/Participants/{psid}"))
            .expect(200)["last_read_message_index"],
        3
    );
    s.post(
        &format!("/Conversations/{c}/Participants/{psid}"),
        &[("LastReadMessageIndex", "-1")],
    )
    .expect_error(400, 20001);

    s.post(
        &format!("/Conversations/{c}/Participants"),
        &[("Identity", "alice")],
    )
    .expect_error(409, 50433);
    assert_eq!(
        s.delete(&format!("/Conversations/{c}/Participants/alice"))
            .status,
        204
    );
    s.get(&format!("/Conversations/{c}/Participants/{psid}"))
        .expect_error(404, 20404);
    // The identity is free again.
    s.post(
        &format!("/Conversations/{c}/Participants"),
        &[("Identity", "alice")],
    )
    .expect(201);
}

#[test]
fn an_address_pair_belongs_to_one_open_conversation() {
    let s = TestServer::spawn();
    let sms = [
        ("MessagingBinding.Address", "+15551230001"),
        ("MessagingBinding.ProxyAddress", "+15559990000"),
    ];
    let a = s.conversation(&[]);
    let p = s
        .post(&format!("/Conversations/{a}/Participants"), &sms)
        .expect(201);
    assert_eq!(p["identity"], serde_json::Value::Null);
    assert_eq!(
        p["messaging_binding"],
        serde_json::json!({"type": "sms", "address": "+15551230001", "proxy_address": "+15559990000"})
    );
    let b = s.conversation(&[]);
    s.post(&format!("/Conversations/{b}/Participants"), &sms)
        .expect_error(409, 50416);
    s.post(&format!("/Conversations/{a}/Participants"), &sms)
        .expect_error(409, 50416);
    // Closing the first conversation releases the pair.
    s.post(&format!("/Conversations/{a}"), &[("State", "closed")])
        .expect(200);
    s.post(&format!("/Conversations/{b}/Participants"), &sms)
        .expect(201);

    let wa = s
        .post(
            &format!("/Conversations/{b}/Participants"),
            &[
                ("MessagingBinding.Address", "whatsapp:+15551230001"),
                ("MessagingBinding.ProxyAddress", "whatsapp:+15559990000"),
            ],
        )
        .expect(201);
    assert_eq!(wa["messaging_binding"]["type"], "whatsapp");
}

#[test]
fn participant_input_is_validated() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Participants");
    s.post(&path, &[]).expect_error(400, 20001);
    s.post(&path, &[("MessagingBinding.Address", "+15551230001")])
        .expect_error(400, 20001);
    s.post(
        &path,
        &[
            ("MessagingBinding.Address", "not-a-number"),
            ("MessagingBinding.ProxyAddress", "+15559990000"),
        ],
    )
    .expect_error(400, 50407);
    s.post(&path, &[("Identity", "x"), ("Attributes", "{oops")])
        .expect_error(400, 20001);
    s.post(&path, &[("Identity", &"x".repeat(300))])
        .expect_error(400, 20001);
    s.get(&format!(
        "/Conversations/{c}/Participants/MB00000000000000000000000000000000"
    ))
    .expect_error(404, 20404);
}

#[test]
fn participant_conversations_by_identity_and_address() {
    let s = TestServer::spawn();
    let a = s.conversation(&[("FriendlyName", "A")]);
    let b = s.conversation(&[("FriendlyName", "B")]);
    s.post(
        &format!("/Conversations/{a}/Participants"),
        &[("Identity", "bob")],
    )
    .expect(201);
    s.post(
        &format!("/Conversations/{b}/Participants"),
        &[("Identity", "bob")],
    )
    .expect(201);
    s.post(
        &format!("/Conversations/{b}/Participants"),
        &[
            ("MessagingBinding.Address", "+15551112222"),
            ("MessagingBinding.ProxyAddress", "+15553334444"),
        ],
    )
    .expect(201);
    let bob = s.list_all("/ParticipantConversations?Identity=bob", "conversations");
    assert_eq!(bob.len(), 2);
    assert_eq!(bob[0]["conversation_sid"], a);
    assert_eq!(bob[1]["conversation_friendly_name"], "B");
    assert_eq!(bob[1]["conversation_state"], "active");
    let phone = s.list_all(
        "/ParticipantConversations?Address=%2B15551112222",
        "conversations",
    );
    assert_eq!(phone.len(), 1);
    assert_eq!(
        phone[0]["participant_messaging_binding"]["proxy_address"],
        "+15553334444"
    );
    s.get("/ParticipantConversations").expect_error(400, 20001);
}
