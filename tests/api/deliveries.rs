//! `/switchboard/v1/Deliveries` (the outbox over REST): an empty server lists empty pages for
//! both statuses, refuses a bad `Status`, answers 404 for unknown ids and needs credentials.
//! The dead-letter flow itself (a failing webhook, replay, drop) is tested with the dispatcher.

use crate::harness::TestServer;

const PATH: &str = "/switchboard/v1/Deliveries";

#[test]
fn deliveries_of_an_empty_server() {
    let s = TestServer::spawn();
    let url = format!("{}{PATH}", s.origin);
    let dead = s.get(&url).expect(200);
    assert_eq!(dead["meta"]["key"], "deliveries");
    assert_eq!(dead["deliveries"], serde_json::json!([]));
    assert!(
        dead["meta"]["url"]
            .as_str()
            .is_some_and(|u| u.contains("Status=dead")),
        "dead letters by default: {dead}"
    );
    assert_eq!(dead["meta"]["next_page_url"], serde_json::Value::Null);
    let pending = s.get(&format!("{url}?Status=pending")).expect(200);
    assert_eq!(pending["deliveries"], serde_json::json!([]));
    s.get(&format!("{url}?Status=sent"))
        .expect_error(400, 20001);

    let unknown = format!("{url}/WD00000000000000000000000000000000");
    s.get(&unknown).expect_error(404, 20404);
    s.delete(&unknown).expect_error(404, 20404);
    s.post(&format!("{unknown}/Replay"), &[])
        .expect_error(404, 20404);
    s.get(&format!("{}/switchboard/v1/Nothing", s.origin))
        .expect_error(404, 20404);

    s.as_user("GET", &url, None, &[]).expect_error(401, 20003);
}
