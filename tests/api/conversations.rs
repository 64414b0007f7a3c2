//! Conversations: CRUD, alternate key, service scoping, states, list filters and pagination.

use crate::harness::TestServer;

#[test]
fn create_fetch_update_delete_by_sid_and_unique_name() {
    let s = TestServer::spawn();
    let c = s
        .post(
            "/Conversations",
            &[
                ("FriendlyName", "Support"),
                ("UniqueName", "order-42"),
                ("Attributes", r#"{"a":1}"#),
            ],
        )
        .expect(201);
    let sid = c["sid"].as_str().expect("sid");
    assert!(sid.starts_with("CH") && sid.len() == 34);
    assert_eq!(c["account_sid"], crate::harness::ACCOUNT);
    assert!(
        c["chat_service_sid"]
            .as_str()
            .is_some_and(|v| v.starts_with("IS"))
    );
    assert_eq!(c["state"], "active");
    assert_eq!(c["attributes"], r#"{"a":1}"#);
    assert_eq!(c["timers"], serde_json::json!({}));
    let created = c["date_created"].as_str().expect("date");
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "{created}"
    );
    assert_eq!(
        c["url"],
        format!("{}/conversations/v1/Conversations/{sid}", s.origin)
    );
    assert_eq!(
        c["links"]["messages"],
        format!("{}/conversations/v1/Conversations/{sid}/Messages", s.origin)
    );

    assert_eq!(
        s.get(&format!("/Conversations/{sid}")).expect(200)["unique_name"],
        "order-42"
    );
    assert_eq!(s.get("/Conversations/order-42").expect(200)["sid"], sid);

    let u = s
        .post(
            "/Conversations/order-42",
            &[("FriendlyName", "Billing"), ("State", "inactive")],
        )
        .expect(200);
    assert_eq!(u["friendly_name"], "Billing");
    assert_eq!(u["state"], "inactive");
    assert_eq!(u["unique_name"], "order-42");

    assert_eq!(s.delete(&format!("/Conversations/{sid}")).status, 204);
    s.get(&format!("/Conversations/{sid}"))
        .expect_error(404, 20404);
    s.get("/Conversations/order-42").expect_error(404, 20404);
}

#[test]
fn unique_names_are_unique_per_service_and_never_sid_shaped() {
    let s = TestServer::spawn();
    s.conversation(&[("UniqueName", "dup")]);
    s.post("/Conversations", &[("UniqueName", "dup")])
        .expect_error(409, 50353);
    s.post(
        "/Conversations",
        &[("UniqueName", "CH0123456789abcdef0123456789abcdef")],
    )
    .expect_error(400, 50390);
    // Another service may reuse the name.
    let svc = s
        .post("/Services", &[("FriendlyName", "Other")])
        .expect(201);
    let isid = svc["sid"].as_str().expect("sid");
    let c = s
        .post(
            &format!("/Services/{isid}/Conversations"),
            &[("UniqueName", "dup")],
        )
        .expect(201);
    assert_eq!(c["chat_service_sid"], isid);
    assert_eq!(
        c["url"],
        format!(
            "{}/conversations/v1/Services/{isid}/Conversations/{}",
            s.origin,
            c["sid"].as_str().expect("sid")
        )
    );
    // Renaming into a taken name is refused too.
    let other = s.conversation(&[("UniqueName", "free")]);
    s.post(&format!("/Conversations/{other}"), &[("UniqueName", "dup")])
        .expect_error(409, 50353);
}

#[test]
fn service_scoped_conversations_are_invisible_elsewhere() {
    let s = TestServer::spawn();
    let svc = s.post("/Services", &[("FriendlyName", "B")]).expect(201);
    let isid = svc["sid"].as_str().expect("sid");
    let sid = s
        .post(&format!("/Services/{isid}/Conversations"), &[])
        .expect(201)["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    s.get(&format!("/Conversations/{sid}"))
        .expect_error(404, 20404);
    s.post(&format!("/Conversations/{sid}/Messages"), &[("Body", "x")])
        .expect_error(404, 20404);
    assert_eq!(
        s.get(&format!("/Services/{isid}/Conversations/{sid}"))
            .expect(200)["sid"],
        sid
    );
    assert!(
        s.list_all("/Conversations", "conversations")
            .iter()
            .all(|c| c["sid"] != sid)
    );
    s.get("/Services/IS00000000000000000000000000000000/Conversations")
        .expect_error(404, 20404);
}

#[test]
fn closed_is_final_and_cannot_be_the_initial_state() {
    let s = TestServer::spawn();
    s.post("/Conversations", &[("State", "closed")])
        .expect_error(400, 50384);
    s.post("/Conversations", &[("State", "sleepy")])
        .expect_error(400, 20001);
    let sid = s.conversation(&[]);
    assert_eq!(
        s.post(&format!("/Conversations/{sid}"), &[("State", "closed")])
            .expect(200)["state"],
        "closed"
    );
    s.post(&format!("/Conversations/{sid}"), &[("State", "active")])
        .expect_error(400, 50377);
    s.post(
        &format!("/Conversations/{sid}/Messages"),
        &[("Body", "late")],
    )
    .expect_error(400, 50377);
    s.post(
        &format!("/Conversations/{sid}/Participants"),
        &[("Identity", "late")],
    )
    .expect_error(400, 50377);
}

#[test]
fn list_paginates_with_absolute_urls_and_filters() {
    let s = TestServer::spawn();
    let mut sids = Vec::new();
    for i in 0..7 {
        sids.push(s.conversation(&[("FriendlyName", &format!("c{i}"))]));
    }
    let first = s.get("/Conversations?PageSize=3").expect(200);
    assert_eq!(first["meta"]["page_size"], 3);
    assert_eq!(first["meta"]["previous_page_url"], serde_json::Value::Null);
    let next = first["meta"]["next_page_url"].as_str().expect("next");
    assert!(
        next.starts_with(&format!("{}/conversations/v1/Conversations?", s.origin)),
        "{next}"
    );
    let all: Vec<_> = s
        .list_all("/Conversations?PageSize=3", "conversations")
        .iter()
        .map(|c| c["sid"].clone())
        .collect();
    assert_eq!(all, sids, "every conversation once, oldest first");

    s.post(
        &format!("/Conversations/{}", sids[0]),
        &[("State", "inactive")],
    )
    .expect(200);
    let inactive = s.list_all("/Conversations?State=inactive", "conversations");
    assert_eq!(inactive.len(), 1);
    assert_eq!(inactive[0]["sid"], sids[0]);

    s.conversation(&[
        ("DateCreated", "2020-01-15T10:00:00Z"),
        ("FriendlyName", "old"),
    ]);
    let jan = s.list_all(
        "/Conversations?StartDate=2020-01-01&EndDate=2020-01-31",
        "conversations",
    );
    assert_eq!(jan.len(), 1);
    assert_eq!(jan[0]["friendly_name"], "old");
    assert_eq!(jan[0]["date_created"], "2020-01-15T10:00:00Z");
    s.get("/Conversations?StartDate=last-week")
        .expect_error(400, 20001);
    s.get("/Conversations?PageSize=0").expect_error(400, 20001);
    s.get("/Conversations?PageSize=abc")
        .expect_error(400, 20001);
}

#[test]
fn conversation_with_participants_creates_everything_at_once() {
    let s = TestServer::spawn();
    let body = format!(
        "{}&Participant={}&Participant={}",
        crate::harness::form(&[("FriendlyName", "Group")]),
        urlencode(r#"{"identity": "agent-1"}"#),
        urlencode(
            r#"{"messaging_binding": {"address": "+15551230001", "proxy_address": "+15559990000"}}"#
        ),
    );
    let c = s
        .post_raw("/ConversationWithParticipants", body, &[])
        .expect(201);
    let sid = c["sid"].as_str().expect("sid");
    let parts = s.list_all(
        &format!("/Conversations/{sid}/Participants"),
        "participants",
    );
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["identity"], "agent-1");
    assert_eq!(parts[1]["messaging_binding"]["address"], "+15551230001");
    assert_eq!(parts[1]["messaging_binding"]["type"], "sms");

    let bad = format!("Participant={}", urlencode("{not json"));
    s.post_raw("/ConversationWithParticipants", bad, &[])
        .expect_error(400, 20001);
}

fn urlencode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}
