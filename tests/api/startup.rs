//! Start-up: configuration errors name their key; a first start with no credentials in the
//! environment generates them, prints them once and saves them with mode 0600.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn switchboard() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.env_remove("SWITCHBOARD_ACCOUNT_SID")
        .env_remove("SWITCHBOARD_AUTH_TOKEN");
    cmd
}

#[test]
fn bad_configuration_fails_at_start_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("SWITCHBOARD__STORE__SYNCHRONOUS", "sometimes")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("store.synchronous"), "{err}");

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[conversations]\nrate_limit_per_secnd = 3\n").expect("write");
    let out = switchboard()
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rate_limit_per_secnd"), "{err}");
}

/// Starts `serve` on `dir` with no credentials in the environment; yields its stdout lines.
fn serve(dir: &std::path::Path) -> (std::process::Child, impl Iterator<Item = String>) {
    let mut child = switchboard()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start");
    let lines = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok);
    (child, lines)
}

#[test]
fn first_start_generates_prints_and_saves_credentials() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut child, mut lines) = serve(dir.path());
    let created = lines.next().expect("credentials line");
    let origin = lines
        .find_map(|l| {
            l.strip_prefix("switchboard listening on ")
                .map(str::to_owned)
        })
        .expect("listening line");
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("account.json")).expect("saved"),
    )
    .expect("json");
    let sid = saved["account_sid"].as_str().expect("sid").to_owned();
    let token = saved["auth_token"].as_str().expect("token").to_owned();
    assert!(
        created.contains(&sid) && created.contains(&token),
        "{created}"
    );
    let mode = std::fs::metadata(dir.path().join("account.json"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    switchboard::webhooks::install_tls_provider();
    let http = reqwest::blocking::Client::new();
    let config: serde_json::Value = http
        .get(format!("{origin}/conversations/v1/Configuration"))
        .basic_auth(&sid, Some(&token))
        .send()
        .expect("get")
        .json()
        .expect("json");
    assert!(
        config["default_chat_service_sid"]
            .as_str()
            .is_some_and(|s| s.starts_with("IS"))
    );
    let _ = child.kill();
    let _ = child.wait();

    // A second start keeps the account and prints no credentials.
    let (mut again, mut lines) = serve(dir.path());
    let first = lines.next().expect("line");
    assert!(first.starts_with("switchboard listening on "), "{first}");
    let _ = again.kill();
    let _ = again.wait();
}
