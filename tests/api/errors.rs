//! Error cases: authentication, unknown routes and methods, oversized bodies, other accounts'
//! resources, rate limiting. Every one answers in Twilio's error shape.

use crate::harness::{ACCOUNT, TestServer};

#[test]
fn authentication_is_required_and_checked() {
    let s = TestServer::spawn();
    s.as_user("GET", "/Conversations", None, &[])
        .expect_error(401, 20003);
    s.as_user("GET", "/Conversations", Some((ACCOUNT, "wrong-token")), &[])
        .expect_error(401, 20003);
    s.as_user("GET", "/Conversations", Some(("not-a-sid", "x")), &[])
        .expect_error(401, 20003);
    s.as_user(
        "POST",
        "/Conversations",
        Some(("ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "x")),
        &[],
    )
    .expect_error(401, 20003);
}

#[test]
fn unknown_paths_methods_and_sids_are_twilio_errors() {
    let s = TestServer::spawn();
    s.get("/Nope").expect_error(404, 20404);
    s.get("/nothing/here").expect_error(404, 20404);
    s.get("/Conversations/CHnothex").expect_error(404, 20404);
    s.get("/Conversations/CH00000000000000000000000000000000")
        .expect_error(404, 20404);
    s.post(
        "/Conversations/CH00000000000000000000000000000000",
        &[("FriendlyName", "x")],
    )
    .expect_error(404, 20404);
    s.delete("/Conversations/CH00000000000000000000000000000000")
        .expect_error(404, 20404);
    s.delete("/Conversations").expect_error(405, 20004);
    s.get("/ConversationWithParticipants")
        .expect_error(405, 20004);
}

#[test]
fn oversized_bodies_and_fields_are_refused() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__SERVER__MAX_BODY_BYTES", "4096")]);
    let big = format!("FriendlyName={}", "x".repeat(5000));
    s.post_raw("/Conversations", big, &[])
        .expect_error(413, 20001);
    s.post("/Conversations", &[("FriendlyName", &"x".repeat(257))])
        .expect_error(400, 20001);
    s.post("/Conversations", &[("Attributes", "not json")])
        .expect_error(400, 20001);
    s.post("/Conversations", &[("MessagingServiceSid", "XX123")])
        .expect_error(400, 20001);
    s.post("/Conversations", &[("Timers.Inactive", "soon")])
        .expect_error(400, 20001);
    s.post("/Conversations", &[("Timers.Inactive", "PT5S")])
        .expect_error(400, 20001);
    s.post("/Conversations", &[("DateCreated", "2020-13-45")])
        .expect_error(400, 20001);
    // The server is still fine afterwards.
    s.post("/Conversations", &[("FriendlyName", "ok")])
        .expect(201);
}

#[test]
fn another_accounts_resources_are_not_found_never_forbidden() {
    let s = TestServer::spawn();
    let sub = s
        .post(
            "/api/2010-04-01/Accounts.json",
            &[("FriendlyName", "tenant-b")],
        )
        .expect(201);
    let sub_sid = sub["sid"].as_str().expect("sid").to_owned();
    let sub_token = sub["auth_token"].as_str().expect("token").to_owned();
    assert_eq!(sub["owner_account_sid"], ACCOUNT);
    let other = Some((sub_sid.as_str(), sub_token.as_str()));

    let c = s.conversation(&[("UniqueName", "parent-only")]);
    s.post(
        &format!("/Conversations/{c}/Messages"),
        &[("Body", "secret")],
    )
    .expect(201);
    let main_service = s.get("/Configuration").expect(200)["default_chat_service_sid"]
        .as_str()
        .expect("is")
        .to_owned();

    s.as_user("GET", &format!("/Conversations/{c}"), other, &[])
        .expect_error(404, 20404);
    s.as_user("GET", "/Conversations/parent-only", other, &[])
        .expect_error(404, 20404);
    s.as_user("GET", &format!("/Conversations/{c}/Messages"), other, &[])
        .expect_error(404, 20404);
    s.as_user(
        "POST",
        &format!("/Conversations/{c}/Messages"),
        other,
        &[("Body", "x")],
    )
    .expect_error(404, 20404);
    s.as_user(
        "POST",
        &format!("/Conversations/{c}"),
        other,
        &[("FriendlyName", "x")],
    )
    .expect_error(404, 20404);
    s.as_user("DELETE", &format!("/Conversations/{c}"), other, &[])
        .expect_error(404, 20404);
    s.as_user(
        "GET",
        &format!("/Services/{main_service}/Conversations"),
        other,
        &[],
    )
    .expect_error(404, 20404);
    let theirs = s.as_user("GET", "/Conversations", other, &[]).expect(200);
    assert_eq!(theirs["conversations"], serde_json::json!([]));
    s.as_user(
        "GET",
        &format!("/api/2010-04-01/Accounts/{ACCOUNT}.json"),
        other,
        &[],
    )
    .expect_error(404, 20404);
    // The parent still sees its conversation intact.
    assert_eq!(
        s.get(&format!("/Conversations/{c}/Messages")).expect(200)["messages"][0]["body"],
        "secret"
    );
    // And sees its subaccount.
    assert_eq!(
        s.get(&format!("/api/2010-04-01/Accounts/{sub_sid}.json"))
            .expect(200)["friendly_name"],
        "tenant-b"
    );
}

#[test]
fn per_conversation_rate_limit_answers_429() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND", "5")]);
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Messages");
    let mut limited = None;
    for i in 0..50 {
        let r = s.post(&path, &[("Body", &format!("m{i}"))]);
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 201);
    }
    limited
        .expect("the limit was reached")
        .expect_error(429, 20429);
    // Other conversations are unaffected.
    let other = s.conversation(&[]);
    s.post(
        &format!("/Conversations/{other}/Messages"),
        &[("Body", "fine")],
    )
    .expect(201);
}
