//! Sign-in for the server's pages: logins managed over `/switchboard/v1/Logins` (argon2
//! hashes never shown), and `/switchboard/v1/SignIn` minting tokens the gateway accepts, with
//! the login's role and worker.

use serde_json::json;

use crate::harness::TestServer;
use crate::taskrouter::Ws as Workspace;
use crate::ws::Ws;

const LOGINS: &str = "/switchboard/v1/Logins";

fn sign_in(s: &TestServer, username: &str, password: &str) -> crate::harness::Reply {
    s.as_user(
        "POST",
        "/switchboard/v1/SignIn",
        None,
        &[("Username", username), ("Password", password)],
    )
}

#[test]
fn logins_are_managed_without_ever_showing_a_password() {
    let s = TestServer::spawn();
    let created = s
        .post(
            LOGINS,
            &[
                ("Username", "ana"),
                ("Password", "correct horse"),
                ("FriendlyName", "Ana"),
            ],
        )
        .expect(201);
    assert!(created["sid"].as_str().is_some_and(|x| x.starts_with("LG")));
    assert_eq!(created["role"], "agent");
    assert_eq!(created["identity"], "ana");
    let text = created.to_string();
    assert!(!text.contains("argon2") && !text.contains("correct horse"));
    // Refusals name their parameter.
    s.post(LOGINS, &[("Username", "ana"), ("Password", "another one")])
        .expect_error(409, 20409);
    s.post(LOGINS, &[("Username", "a b"), ("Password", "long enough")])
        .expect_error(400, 20001);
    s.post(LOGINS, &[("Username", "bo"), ("Password", "short")])
        .expect_error(400, 20001);
    s.post(
        LOGINS,
        &[
            ("Username", "bo"),
            ("Password", "long enough"),
            ("Role", "admin"),
        ],
    )
    .expect_error(400, 20001);
    s.post(
        LOGINS,
        &[
            ("Username", "bo"),
            ("Password", "long enough"),
            ("WorkerSid", "WK00000000000000000000000000000000"),
        ],
    )
    .expect_error(400, 20001);
    // Fetch by username, list, update, delete.
    assert_eq!(
        s.get(&format!("{LOGINS}/ana")).expect(200)["friendly_name"],
        "Ana"
    );
    assert_eq!(s.list_all(LOGINS, "logins").len(), 1);
    assert_eq!(sign_in(&s, "ana", "correct horse").status, 200);
    s.post(&format!("{LOGINS}/ana"), &[("Password", "battery staple")])
        .expect(200);
    assert_eq!(sign_in(&s, "ana", "correct horse").status, 401);
    assert_eq!(sign_in(&s, "ana", "battery staple").status, 200);
    assert_eq!(s.delete(&format!("{LOGINS}/ana")).status, 204);
    s.get(&format!("{LOGINS}/ana")).expect_error(404, 20404);
    // Managing logins needs the account's credentials.
    assert_eq!(
        s.as_user("GET", LOGINS, None, &[]).status,
        401,
        "no anonymous listing"
    );
}

#[test]
fn signing_in_mints_a_token_for_the_login_role_and_worker() {
    let s = TestServer::spawn();
    let ws = Workspace::create(&s, "desk");
    let worker = ws.worker(&s, "carla", json!({"contact_uri": "client:carla"}), 1);
    s.post(
        LOGINS,
        &[
            ("Username", "carla"),
            ("Password", "carla's password"),
            ("Identity", "carla"),
            ("WorkspaceSid", &ws.sid),
            ("WorkerSid", &worker),
        ],
    )
    .expect(201);
    s.post(
        LOGINS,
        &[
            ("Username", "sam"),
            ("Password", "sam's password"),
            ("Role", "supervisor"),
            ("WorkspaceSid", &ws.sid),
        ],
    )
    .expect(201);
    // A wrong password and an unknown user get the same answer.
    let wrong = sign_in(&s, "carla", "guess").expect_error(401, 20003);
    let unknown = sign_in(&s, "nobody", "guess").expect_error(401, 20003);
    assert_eq!(wrong["message"], unknown["message"]);
    assert_eq!(wrong["message"], "Wrong username or password");
    // No browser credentials prompt: the page shows its own message.
    let raw = reqwest::blocking::Client::new()
        .post(format!("{}/switchboard/v1/SignIn", s.origin))
        .form(&[("Username", "carla"), ("Password", "guess")])
        .send()
        .expect("sent");
    assert_eq!(raw.status(), 401);
    assert!(raw.headers().get("WWW-Authenticate").is_none());

    let agent = sign_in(&s, "carla", "carla's password").expect(200);
    assert_eq!(agent["identity"], "carla");
    assert_eq!(agent["worker_sid"], worker.as_str());
    let token = agent["token"].as_str().expect("token").to_owned();
    let (mut desk, session) = Ws::session(&s, &token);
    assert_eq!(session["identity"], "carla");
    assert_eq!(session["role"], "agent");
    // The token carries the worker: the routing seat answers for it.
    let me = desk.ok("worker", json!({}));
    assert_eq!(me["worker"]["sid"], worker.as_str());

    let supervisor = sign_in(&s, "sam", "sam's password").expect(200);
    let (_, session) = Ws::session(&s, supervisor["token"].as_str().expect("token"));
    assert_eq!(session["role"], "supervisor");
}

#[test]
fn the_cli_adds_a_login_that_can_sign_in_at_once() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let s = TestServer::spawn();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["user", "add", "--username", "dee", "--role", "supervisor"])
        .args(["--password-stdin", "--data-dir"])
        .arg(s.data_dir())
        .env("SWITCHBOARD_ACCOUNT_SID", crate::harness::ACCOUNT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"dee's password\n")
        .expect("password");
    let out = child.wait_with_output().expect("ran");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("LG"));
    let signed = sign_in(&s, "dee", "dee's password").expect(200);
    assert_eq!(signed["role"], "supervisor");
    // A second one with the same name is refused, and so is a missing password.
    let again = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["user", "add", "--username", "dee", "--data-dir"])
        .arg(s.data_dir())
        .env("SWITCHBOARD_ACCOUNT_SID", crate::harness::ACCOUNT)
        .env("SWITCHBOARD_PASSWORD", "another password")
        .output()
        .expect("ran");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[test]
fn the_sign_in_page_is_served_with_a_strict_content_security_policy() {
    let s = TestServer::spawn();
    let client = reqwest::blocking::Client::new();
    let page = client
        .get(format!("{}/login", s.origin))
        .send()
        .expect("page");
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("Content-Security-Policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    let html = page.text().expect("html");
    assert!(html.contains("/switchboard/v1/SignIn") || html.contains("login.js"));
    let script = s.get_text("/login/assets/login.js");
    assert!(script.contains("/switchboard/v1/SignIn"));
    assert!(
        !script.contains("innerHTML"),
        "user text only through textContent"
    );
    let missing = client
        .get(format!("{}/login/assets/other.js", s.origin))
        .send()
        .expect("asset");
    assert_eq!(missing.status(), 404);
}

#[test]
fn the_demo_seeds_agents_a_supervisor_and_a_routed_number_once() {
    let mut s = TestServer::spawn_with(&[("SWITCHBOARD__SERVER__DEMO", "true")]);
    let alice = sign_in(&s, "alice", switchboard::demo::PASSWORD).expect(200);
    assert_eq!(alice["role"], "agent");
    assert!(
        alice["worker_sid"]
            .as_str()
            .is_some_and(|w| w.starts_with("WK"))
    );
    let (mut desk, _) = Ws::session(&s, alice["token"].as_str().expect("token"));
    let me = desk.ok("worker", json!({}));
    assert_eq!(me["worker"]["friendly_name"], "Alice Agent");
    let sam = sign_in(&s, "sam", switchboard::demo::PASSWORD).expect(200);
    assert_eq!(sam["role"], "supervisor");
    let number = s
        .get("/conversations/v1/Configuration/Addresses/%2B15550001111")
        .expect(200);
    assert_eq!(number["auto_creation"]["enabled"], true);
    assert!(number["routing"].is_object());
    // Starting again with --demo adds nothing twice.
    s.restart();
    assert_eq!(s.list_all(LOGINS, "logins").len(), 3);
    let workers = s.get("/taskrouter/v1/Workspaces").expect(200)["workspaces"][0]["sid"]
        .as_str()
        .map(str::to_owned)
        .expect("WS");
    let listed = s
        .get(&format!("/taskrouter/v1/Workspaces/{workers}/Workers"))
        .expect(200);
    let names: Vec<&str> = listed["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter_map(|w| w["friendly_name"].as_str())
        .collect();
    assert_eq!(names.iter().filter(|n| **n == "Alice Agent").count(), 1);
}

#[test]
fn without_the_demo_nobody_can_sign_in() {
    let s = TestServer::spawn();
    sign_in(&s, "alice", switchboard::demo::PASSWORD).expect_error(401, 20003);
}

fn refresh(s: &TestServer, token: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}/switchboard/v1/SignIn/Refresh", s.origin))
        .bearer_auth(token)
        .send()
        .expect("sent")
}

#[test]
fn a_sign_in_token_is_renewed_until_its_login_is_removed() {
    let s = TestServer::spawn();
    s.post(
        LOGINS,
        &[("Username", "eve"), ("Password", "eve's password")],
    )
    .expect(201);
    let first = sign_in(&s, "eve", "eve's password").expect(200);
    let token = first["token"].as_str().expect("token").to_owned();
    // A role change shows in the renewed token.
    s.post(&format!("{LOGINS}/eve"), &[("Role", "supervisor")])
        .expect(200);
    let renewed = refresh(&s, &token);
    assert_eq!(renewed.status(), 200);
    let renewed: serde_json::Value = renewed.json().expect("json");
    assert_eq!(renewed["role"], "supervisor");
    let (_, session) = Ws::session(&s, renewed["token"].as_str().expect("token"));
    assert_eq!(session["role"], "supervisor");
    // Not a sign-in token, not a token at all, or a removed login: sign in again.
    let minted = crate::ws::Minter::new(&s).token("eve", Some("agent"));
    for bad in [minted.as_str(), "not-a-token"] {
        let answer = refresh(&s, bad);
        assert_eq!(answer.status(), 401);
        assert!(answer.headers().get("WWW-Authenticate").is_none());
    }
    assert_eq!(s.delete(&format!("{LOGINS}/eve")).status, 204);
    assert_eq!(refresh(&s, &token).status(), 401);
}
