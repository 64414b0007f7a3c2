//! API keys (`/api/2010-04-01/Accounts/{AC}/Keys`), REST auth with `SK…:secret`, and the
//! `switchboard token` CLI.

use base64::Engine;

use crate::harness::{ACCOUNT, TestServer};

fn keys_path() -> String {
    format!("/api/2010-04-01/Accounts/{ACCOUNT}/Keys")
}

#[test]
fn keys_authenticate_rest_calls_until_deleted() {
    let s = TestServer::spawn();
    let created = s
        .post(
            &format!("{}.json", keys_path()),
            &[("FriendlyName", "backend")],
        )
        .expect(201);
    let sid = created["sid"].as_str().expect("sid").to_owned();
    let secret = created["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    assert!(sid.starts_with("SK"));
    let fetched = s.get(&format!("{}/{sid}.json", keys_path())).expect(200);
    assert_eq!(fetched["friendly_name"], "backend");
    assert!(
        fetched.get("secret").is_none(),
        "the secret is never shown again"
    );
    let listed = s.get(&format!("{}.json", keys_path())).expect(200);
    assert!(
        listed["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .any(|k| k["sid"] == sid)
    );
    let renamed = s
        .post(
            &format!("{}/{sid}.json", keys_path()),
            &[("FriendlyName", "renamed")],
        )
        .expect(200);
    assert_eq!(renamed["friendly_name"], "renamed");

    let key = Some((sid.as_str(), secret.as_str()));
    let c = s
        .as_user(
            "POST",
            "/Conversations",
            key,
            &[("FriendlyName", "via key")],
        )
        .expect(201);
    assert_eq!(c["account_sid"], ACCOUNT);
    s.as_user(
        "GET",
        "/Conversations",
        Some((sid.as_str(), "wrong-secret")),
        &[],
    )
    .expect_error(401, 20003);

    // Another account sees neither the key nor the parent's key list.
    let sub = s.post("/api/2010-04-01/Accounts.json", &[]).expect(201);
    let other = Some((
        sub["sid"].as_str().expect("sid"),
        sub["auth_token"].as_str().expect("token"),
    ));
    s.as_user("GET", &format!("{}/{sid}.json", keys_path()), other, &[])
        .expect_error(404, 20404);

    assert_eq!(s.delete(&format!("{}/{sid}.json", keys_path())).status, 204);
    s.as_user("GET", "/Conversations", key, &[])
        .expect_error(401, 20003);
    s.get(&format!("{}/{sid}.json", keys_path()))
        .expect_error(404, 20404);
}

fn claims(token: &str) -> serde_json::Value {
    let part = |i: usize| {
        let seg = token.split('.').nth(i).expect("segment");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(seg)
            .expect("base64url");
        serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
    };
    assert_eq!(part(0)["cty"], "twilio-fpa;v=1");
    assert_eq!(part(0)["alg"], "HS256");
    part(1)
}

#[test]
fn the_token_cli_mints_twilio_format_tokens_with_a_stored_key() {
    let s = TestServer::spawn();
    let token_cmd = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("token")
            .args(args)
            .arg("--data-dir")
            .arg(s.data_dir())
            .env("SWITCHBOARD_ACCOUNT_SID", ACCOUNT)
            .output()
            .expect("run")
    };
    let out = token_cmd(&[
        "--identity",
        "agent-1",
        "--role",
        "supervisor",
        "--ttl",
        "30m",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    let c = claims(&token);
    assert_eq!(c["sub"], ACCOUNT);
    assert_eq!(c["grants"]["identity"], "agent-1");
    assert_eq!(c["grants"]["task_router"]["role"], "supervisor");
    assert!(
        c["grants"]["chat"]["service_sid"]
            .as_str()
            .is_some_and(|v| v.starts_with("IS"))
    );
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["nbf"].as_i64().expect("nbf"),
        1800
    );
    let iss = c["iss"].as_str().expect("iss").to_owned();
    // The signing key is a real key of the account, visible (without its secret) over REST.
    assert_eq!(
        s.get(&format!("{}/{iss}.json", keys_path())).expect(200)["friendly_name"],
        "switchboard-cli"
    );

    // The same key is reused; a guest token has no task_router grant.
    let out = token_cmd(&["--identity", "guest-9", "--role", "guest"]);
    assert!(out.status.success());
    let c = claims(String::from_utf8(out.stdout).expect("utf8").trim());
    assert_eq!(c["iss"], iss);
    assert!(c["grants"].get("task_router").is_none());

    let bad = token_cmd(&["--identity", "x", "--role", "janitor"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--role"));
}
