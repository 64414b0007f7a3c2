//! Services, Users, Roles and the two Configuration resources.

use crate::harness::TestServer;

#[test]
fn services_come_with_default_roles_and_configuration() {
    let s = TestServer::spawn();
    let svc = s
        .post("/Services", &[("FriendlyName", "Sales")])
        .expect(201);
    let isid = svc["sid"].as_str().expect("sid").to_owned();
    assert_eq!(
        s.get(&format!("/Services/{isid}")).expect(200)["friendly_name"],
        "Sales"
    );
    let services = s.list_all("/Services", "services");
    assert_eq!(services.len(), 2, "the default service and the new one");
    let roles = s.list_all(&format!("/Services/{isid}/Roles"), "roles");
    assert_eq!(roles.len(), 4);
    let config = s
        .get(&format!("/Services/{isid}/Configuration"))
        .expect(200);
    assert!(
        roles
            .iter()
            .any(|r| r["sid"] == config["default_conversation_role_sid"])
    );
    let updated = s
        .post(
            &format!("/Services/{isid}/Configuration"),
            &[("ReachabilityEnabled", "true")],
        )
        .expect(200);
    assert_eq!(updated["reachability_enabled"], true);
    s.post(
        &format!("/Services/{isid}/Configuration"),
        &[(
            "DefaultConversationRoleSid",
            "RL00000000000000000000000000000000",
        )],
    )
    .expect_error(400, 20001);

    let default_service = s.get("/Configuration").expect(200)["default_chat_service_sid"]
        .as_str()
        .expect("is")
        .to_owned();
    s.delete(&format!("/Services/{default_service}"))
        .expect_error(400, 20001);
    s.post(
        &format!("/Services/{isid}/Conversations"),
        &[("FriendlyName", "gone soon")],
    )
    .expect(201);
    assert_eq!(s.delete(&format!("/Services/{isid}")).status, 204);
    s.get(&format!("/Services/{isid}")).expect_error(404, 20404);
    s.post("/Services", &[]).expect_error(400, 20001);
}

#[test]
fn users_by_identity_and_roles_with_permissions() {
    let s = TestServer::spawn();
    let u = s
        .post(
            "/Users",
            &[("Identity", "agent-7"), ("FriendlyName", "Ana")],
        )
        .expect(201);
    let usid = u["sid"].as_str().expect("sid").to_owned();
    assert!(u["role_sid"].as_str().is_some_and(|r| r.starts_with("RL")));
    assert_eq!(s.get("/Users/agent-7").expect(200)["sid"], usid);
    assert_eq!(
        s.post(&format!("/Users/{usid}"), &[("FriendlyName", "Ana B")])
            .expect(200)["friendly_name"],
        "Ana B"
    );
    s.post("/Users", &[("Identity", "agent-7")])
        .expect_error(409, 50201);
    assert_eq!(s.list_all("/Users", "users").len(), 1);
    assert_eq!(s.delete("/Users/agent-7").status, 204);
    s.get(&format!("/Users/{usid}")).expect_error(404, 20404);

    let body =
        "FriendlyName=Reader&Type=conversation&Permission=sendMessage&Permission=leaveConversation";
    let r = s.post_raw("/Roles", body.into(), &[]).expect(201);
    assert_eq!(
        r["permissions"],
        serde_json::json!(["sendMessage", "leaveConversation"])
    );
    let rsid = r["sid"].as_str().expect("sid").to_owned();
    let r2 = s
        .post(&format!("/Roles/{rsid}"), &[("Permission", "sendMessage")])
        .expect(200);
    assert_eq!(r2["permissions"], serde_json::json!(["sendMessage"]));
    s.post(
        "/Roles",
        &[
            ("FriendlyName", "x"),
            ("Type", "galaxy"),
            ("Permission", "a"),
        ],
    )
    .expect_error(400, 20001);
    s.post("/Roles", &[("FriendlyName", "x"), ("Type", "service")])
        .expect_error(400, 20001);
    assert_eq!(s.list_all("/Roles", "roles").len(), 5);
    assert_eq!(s.delete(&format!("/Roles/{rsid}")).status, 204);
    s.get(&format!("/Roles/{rsid}")).expect_error(404, 20404);
}

#[test]
fn account_configuration_defaults() {
    let s = TestServer::spawn();
    let c = s.get("/Configuration").expect(200);
    assert_eq!(c["default_inactive_timer"], serde_json::Value::Null);
    let u = s
        .post(
            "/Configuration",
            &[
                ("DefaultInactiveTimer", "PT10M"),
                ("DefaultClosedTimer", "PT1H"),
            ],
        )
        .expect(200);
    assert_eq!(u["default_inactive_timer"], "PT10M");
    assert_eq!(u["default_closed_timer"], "PT1H");
    s.post("/Configuration", &[("DefaultClosedTimer", "later")])
        .expect_error(400, 20001);
    s.post(
        "/Configuration",
        &[(
            "DefaultChatServiceSid",
            "IS00000000000000000000000000000000",
        )],
    )
    .expect_error(400, 20001);
    let conv = s.post("/Conversations", &[]).expect(201);
    assert!(
        conv["timers"]["date_inactive"].is_string(),
        "account default timers apply"
    );
}
