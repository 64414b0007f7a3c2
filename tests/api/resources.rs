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
    s.get(&format!("/Services/{isid}/Conversations"))
        .expect_error(404, 20404);
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

#[test]
fn user_conversations_show_unread_counts_and_notification_levels() {
    let s = TestServer::spawn();
    let user = s.post("/Users", &[("Identity", "agent-9")]).expect(201);
    let usid = user["sid"].as_str().expect("sid").to_owned();
    let c = s.conversation(&[("FriendlyName", "Case 1"), ("UniqueName", "case-1")]);
    s.post(
        &format!("/Conversations/{c}/Participants"),
        &[("Identity", "agent-9")],
    )
    .expect(201);
    for body in ["a", "b", "c"] {
        s.post(&format!("/Conversations/{c}/Messages"), &[("Body", body)])
            .expect(201);
    }
    let list = s.list_all(&format!("/Users/{usid}/Conversations"), "conversations");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["conversation_sid"], c);
    assert_eq!(
        list[0]["unread_messages_count"],
        serde_json::Value::Null,
        "nothing read yet"
    );
    assert_eq!(list[0]["notification_level"], "default");

    let u = s
        .post(
            "/Users/agent-9/Conversations/case-1",
            &[
                ("LastReadMessageIndex", "0"),
                ("NotificationLevel", "muted"),
            ],
        )
        .expect(200);
    assert_eq!(u["unread_messages_count"], 2);
    assert_eq!(u["notification_level"], "muted");
    assert_eq!(
        s.get(&format!("/Conversations/{c}/Participants/agent-9"))
            .expect(200)["last_read_message_index"],
        0
    );
    s.post(
        &format!("/Users/{usid}/Conversations/{c}"),
        &[("NotificationLevel", "loud")],
    )
    .expect_error(400, 20001);

    assert_eq!(
        s.delete(&format!("/Users/{usid}/Conversations/{c}")).status,
        204
    );
    s.get(&format!("/Users/{usid}/Conversations/{c}"))
        .expect_error(404, 20404);
    assert!(
        s.list_all(&format!("/Users/{usid}/Conversations"), "conversations")
            .is_empty()
    );
}

#[test]
fn participant_roles_must_be_conversation_roles_of_the_service() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Participants");
    s.post(
        &path,
        &[
            ("Identity", "a"),
            ("RoleSid", "RL00000000000000000000000000000000"),
        ],
    )
    .expect_error(400, 20001);
    let roles = s.list_all("/Roles", "roles");
    let service_role = roles
        .iter()
        .find(|r| r["type"] == "service")
        .expect("service role")["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    let conv_role = roles
        .iter()
        .find(|r| r["type"] == "conversation")
        .expect("conversation role")["sid"]
        .as_str()
        .expect("sid")
        .to_owned();
    s.post(&path, &[("Identity", "a"), ("RoleSid", &service_role)])
        .expect_error(400, 20001);
    let p = s
        .post(&path, &[("Identity", "a"), ("RoleSid", &conv_role)])
        .expect(201);
    assert_eq!(p["role_sid"], conv_role);
    s.post(
        &format!("{path}/a"),
        &[("RoleSid", "RL00000000000000000000000000000000")],
    )
    .expect_error(400, 20001);
}

#[test]
fn subaccounts_list_with_filters() {
    let s = TestServer::spawn();
    s.post(
        "/api/2010-04-01/Accounts.json",
        &[("FriendlyName", "team-a")],
    )
    .expect(201);
    let b = s
        .post(
            "/api/2010-04-01/Accounts.json",
            &[("FriendlyName", "team-b")],
        )
        .expect(201);
    let bsid = b["sid"].as_str().expect("sid");
    assert_eq!(
        s.get("/api/2010-04-01/Accounts.json").expect(200)["accounts"]
            .as_array()
            .expect("list")
            .len(),
        3
    );
    let named = s
        .get("/api/2010-04-01/Accounts.json?FriendlyName=team-b")
        .expect(200);
    assert_eq!(named["accounts"].as_array().expect("list").len(), 1);
    assert_eq!(named["accounts"][0]["sid"], bsid);
    s.post(
        &format!("/api/2010-04-01/Accounts/{bsid}.json"),
        &[("Status", "suspended")],
    )
    .expect(200);
    let suspended = s
        .get("/api/2010-04-01/Accounts.json?Status=suspended")
        .expect(200);
    assert_eq!(suspended["accounts"].as_array().expect("list").len(), 1);
    let token = b["auth_token"].as_str().expect("token");
    s.as_user("GET", "/Conversations", Some((bsid, token)), &[])
        .expect_error(401, 20003);
}
