//! `switchboard load` end to end: the real binary runs small scenarios against a test server
//! and the JSON report's counts are checked (never its timings): every customer served and
//! finished, offers rejected and timed out by the ratios yet every chat accepted in the end,
//! messages, typing, reads and attachments delivered, zero lost, duplicated, out-of-order or
//! gap deliveries, the tasks completed on the server, and step-up stages with a capacity.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::{ACCOUNT, TOKEN, TestServer};

/// Runs `switchboard load` against `server` with `args`; returns its output and JSON report.
fn load(server: &TestServer, args: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.json");
    let chart = dir.path().join("chart.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("load")
        .args(["--url", &server.origin, "--quiet", "--server-pid"])
        .arg(server.pid().to_string())
        .arg("--report")
        .arg(&report)
        .arg("--chart")
        .arg(&chart)
        .args(args)
        .env("SWITCHBOARD_ACCOUNT_SID", ACCOUNT)
        .env("SWITCHBOARD_AUTH_TOKEN", TOKEN)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run switchboard load");
    let text = std::fs::read_to_string(&report).unwrap_or_else(|_| {
        panic!(
            "no report; stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let svg = std::fs::read_to_string(&chart).expect("chart written");
    if !output.status.success() {
        // What the run said about it (the receivers that missed messages, failed requests).
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
        eprintln!(
            "switchboard load stderr (last lines, newest first):\n{}",
            tail.join("\n")
        );
    }
    assert!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "an SVG document"
    );
    (output, serde_json::from_str(&text).expect("report is JSON"))
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config/load")
        .join(name)
        .display()
        .to_string()
}

fn count(report: &Value, key: &str) -> u64 {
    report["counts"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("counts.{key} in {report}"))
}

fn samples(report: &Value, path: &str) -> u64 {
    report["latencies"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["name"] == path))
        .and_then(|l| l["n"].as_u64())
        .unwrap_or_else(|| panic!("latency {path} in {report}"))
}

#[test]
fn a_small_contact_center_runs_end_to_end_with_nothing_lost() {
    let server = TestServer::spawn();
    let (output, r) = load(&server, &["--scenario", &scenario("smoke.toml")]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}",
        output.status
    );
    assert!(stdout.contains("PASSED"), "{stdout}");
    assert_eq!(r["passed"], true, "{}", r["failures"]);
    assert_eq!(
        r["integrity"],
        serde_json::json!({"lost": 0, "duplicated": 0, "out_of_order": 0, "gaps": 0})
    );

    // Everyone took part.
    assert_eq!(count(&r, "agents"), 12);
    assert_eq!(count(&r, "agents_connected"), 12);
    assert_eq!(count(&r, "supervisors"), 2);
    let started = count(&r, "customers_started");
    assert!(started >= 24, "at least the population arrived: {started}");
    assert!(count(&r, "customers_webchat") > 0 && count(&r, "customers_sms") > 0);
    assert_eq!(
        count(&r, "customers_webchat") + count(&r, "customers_sms"),
        started
    );
    assert!(count(&r, "customers_served") > 0);
    assert_eq!(count(&r, "customers_abandoned"), 0);
    assert!(count(&r, "monitored") > 0);

    // Offers: some rejected, some left to time out, every accepted chat completed.
    let offers = count(&r, "offers");
    let (accepted, rejected, timeouts) = (
        count(&r, "accepted"),
        count(&r, "rejected"),
        count(&r, "offer_timeouts"),
    );
    assert!(rejected > 0 && timeouts > 0, "{}", r["counts"]);
    assert!(offers >= accepted + rejected, "{}", r["counts"]);
    assert_eq!(
        count(&r, "completed"),
        accepted,
        "every accepted task completed"
    );
    assert_eq!(
        count(&r, "customers_finished"),
        accepted,
        "every chat ended"
    );

    // Messages and their receipts.
    assert_eq!(count(&r, "messages_sent"), count(&r, "messages_acked"));
    assert_eq!(count(&r, "send_errors"), 0);
    assert!(count(&r, "deliveries") > count(&r, "messages_acked"));
    assert!(count(&r, "sms_received") > 0);
    assert!(count(&r, "typing_received") > 0);
    assert!(count(&r, "read_receipts") > 0);
    assert!(count(&r, "media_sent") > 0);
    assert_eq!(count(&r, "media_received"), count(&r, "media_sent"));
    for path in [
        "connect",
        "contact_to_offer",
        "accept_to_joined",
        "customer_to_agent",
        "sms_to_agent",
        "agent_to_customer",
        "agent_to_sms",
        "to_supervisor",
        "send_to_ack",
        "read_receipt",
        "typing",
    ] {
        assert!(samples(&r, path) > 0, "latency {path} measured");
    }
    // The steady window (after the 1 s ramp-up, before the end) saw messages too, and no
    // more than the whole run did.
    let steady = &r["steady"];
    assert!(
        steady["from_s"].as_f64() < steady["to_s"].as_f64(),
        "{steady}"
    );
    let in_window = |path: &str| {
        steady["latencies"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["name"] == path))
            .and_then(|l| l["n"].as_u64())
            .unwrap_or_else(|| panic!("steady latency {path} in {steady}"))
    };
    for path in ["customer_to_agent", "agent_to_customer", "to_supervisor"] {
        assert!(in_window(path) > 0, "steady {path} measured");
        assert!(
            in_window(path) < samples(&r, path),
            "the window is part of the run"
        );
    }
    assert!(stdout.contains("steady state"), "{stdout}");
    assert!(!r["timeline"].as_array().expect("timeline").is_empty());
    assert!(r["server"]["rss_peak_bytes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(r["errors"], serde_json::json!({}), "no errors");

    // On the server: nothing is left routed to the load queue.
    let ws = server.get("/taskrouter/v1/Workspaces").expect(200)["workspaces"][0]["sid"]
        .as_str()
        .expect("workspace")
        .to_owned();
    let queue = server
        .list_all(
            &format!("/taskrouter/v1/Workspaces/{ws}/TaskQueues"),
            "task_queues",
        )
        .into_iter()
        .find(|q| q["friendly_name"] == "Switchboard load")
        .expect("the load queue");
    let tasks = server.list_all(
        &format!(
            "/taskrouter/v1/Workspaces/{ws}/Tasks?TaskQueueSid={}",
            queue["sid"].as_str().expect("sid")
        ),
        "tasks",
    );
    let open: Vec<_> = tasks
        .iter()
        .filter(|t| t["assignment_status"] != "completed" && t["assignment_status"] != "canceled")
        .collect();
    assert!(open.is_empty(), "tasks left open: {open:?}");

    // The agents signed in with passwords: their logins exist.
    let logins = server.list_all("/switchboard/v1/Logins", "logins");
    assert_eq!(
        logins
            .iter()
            .filter(|l| l["username"]
                .as_str()
                .unwrap_or("")
                .starts_with("load-agent-"))
            .count(),
        12
    );

    // A second run reuses the workers, queue and addresses; --cleanup removes them.
    let (output, r) = load(
        &server,
        &[
            "--scenario",
            &scenario("smoke.toml"),
            "--duration",
            "2s",
            "--cleanup",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(r["integrity"]["lost"], 0);
    let workers = server.list_all(
        &format!("/taskrouter/v1/Workspaces/{ws}/Workers"),
        "workers",
    );
    assert!(
        workers.iter().all(|w| !w["friendly_name"]
            .as_str()
            .unwrap_or("")
            .starts_with("load-agent-")),
        "workers removed"
    );
    assert!(
        server
            .list_all("/switchboard/v1/Logins", "logins")
            .iter()
            .all(|l| !l["username"]
                .as_str()
                .unwrap_or("")
                .starts_with("load-agent-")),
        "logins removed"
    );
    let keys = server
        .get(&format!("/api/2010-04-01/Accounts/{ACCOUNT}/Keys.json"))
        .expect(200);
    assert!(
        keys["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["friendly_name"] != "switchboard-load"),
        "the run's API keys are deleted"
    );
}

#[test]
fn step_up_reports_each_stage_and_the_capacity_held() {
    let server = TestServer::spawn();
    let (output, r) = load(
        &server,
        &[
            "--step-up",
            "--agents",
            "8",
            "--capacity",
            "4",
            "--supervisors",
            "1",
            "--message-interval",
            "500ms",
            "--messages",
            "1000",
            "--sms-ratio",
            "0",
            "--arrival-rate",
            "50",
            "--p99-limit",
            "60s",
            "--scenario",
            &scenario("stepup-small.toml"),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    let step = &r["step_up"];
    assert!(r["steady"].is_null(), "stages are measured on their own");
    let stages = step["stages"].as_array().expect("stages");
    assert_eq!(
        stages.len(),
        3,
        "every stage held under a 60 s limit: {step}"
    );
    let targets: Vec<u64> = stages
        .iter()
        .map(|s| s["target_conversations"].as_u64().expect("target"))
        .collect();
    assert_eq!(targets, [4, 8, 12]);
    assert!(stages.iter().all(|s| s["held"] == true));
    assert!(
        stages
            .iter()
            .all(|s| s["deliveries_per_s"].as_f64().unwrap_or(0.0) > 0.0)
    );
    assert_eq!(step["capacity_conversations"], 12);
    assert!(step["bytes_per_connection"].as_u64().is_some());
    assert!(
        stdout.contains("capacity: 12 concurrent conversations"),
        "{stdout}"
    );
    assert_eq!(r["integrity"]["lost"], 0);
    assert_eq!(r["passed"], true, "{}", r["failures"]);
}

#[test]
fn a_bad_scenario_or_target_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[agents]\ncuont = 3\n").expect("write");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("load")
            .args(args)
            .env("SWITCHBOARD_ACCOUNT_SID", ACCOUNT)
            .env("SWITCHBOARD_AUTH_TOKEN", TOKEN)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("run")
    };
    let out = run(&["--scenario", bad.to_str().expect("path")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cuont"),
        "names the key"
    );
    let out = run(&["--agents", "0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("agents.count"));
    let out = run(&["--url", "https://example.com"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http://HOST:PORT"));
}
