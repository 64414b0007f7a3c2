//! State timers really fire: active → inactive → closed, and activity reactivates.

use std::time::Duration;

use crate::harness::{TestServer, eventually};

fn short_timers() -> TestServer {
    TestServer::spawn_with(&[
        ("SWITCHBOARD__CONVERSATIONS__MIN_INACTIVE_TIMER", "1s"),
        ("SWITCHBOARD__CONVERSATIONS__MIN_CLOSED_TIMER", "1s"),
    ])
}

fn state_of(s: &TestServer, sid: &str) -> String {
    s.get(&format!("/Conversations/{sid}")).expect(200)["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

#[test]
fn timers_move_a_conversation_to_inactive_then_closed() {
    let s = short_timers();
    let c = s
        .post(
            "/Conversations",
            &[("Timers.Inactive", "PT1S"), ("Timers.Closed", "PT4S")],
        )
        .expect(201);
    assert!(c["timers"]["date_inactive"].is_string());
    assert!(c["timers"]["date_closed"].is_string());
    let sid = c["sid"].as_str().expect("sid").to_owned();
    eventually(Duration::from_secs(10), || {
        (state_of(&s, &sid) == "inactive").then_some(())
    });
    // A message reactivates it.
    s.post(
        &format!("/Conversations/{sid}/Messages"),
        &[("Body", "still here")],
    )
    .expect(201);
    assert_eq!(state_of(&s, &sid), "active");
    eventually(Duration::from_secs(15), || {
        (state_of(&s, &sid) == "closed").then_some(())
    });
    let closed = s.get(&format!("/Conversations/{sid}")).expect(200);
    assert_eq!(closed["timers"], serde_json::json!({}));
}

#[test]
fn pending_timers_survive_a_restart_and_account_defaults_apply() {
    let mut s = short_timers();
    s.post("/Configuration", &[("DefaultClosedTimer", "PT3S")])
        .expect(200);
    let sid = s.conversation(&[]);
    assert!(
        s.get(&format!("/Conversations/{sid}")).expect(200)["timers"]["date_closed"].is_string()
    );
    s.restart();
    eventually(Duration::from_secs(15), || {
        (state_of(&s, &sid) == "closed").then_some(())
    });
}
