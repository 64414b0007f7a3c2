//! Messages: indexes, authorship, ordering, edits, deletes, limits, receipts.

use crate::harness::TestServer;

#[test]
fn indexes_count_up_and_are_never_reused() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Messages");
    let p = s
        .post(
            &format!("/Conversations/{c}/Participants"),
            &[("Identity", "alice")],
        )
        .expect(201);
    let m0 = s
        .post(
            &path,
            &[
                ("Author", "alice"),
                ("Body", "hello"),
                ("Attributes", r#"{"k":"v"}"#),
            ],
        )
        .expect(201);
    assert_eq!(m0["index"], 0);
    assert_eq!(m0["participant_sid"], p["sid"]);
    assert_eq!(m0["attributes"], r#"{"k":"v"}"#);
    assert!(m0["sid"].as_str().is_some_and(|v| v.starts_with("IM")));
    let m1 = s.post(&path, &[("Body", "from the system")]).expect(201);
    assert_eq!(m1["index"], 1);
    assert_eq!(m1["author"], "system");
    assert_eq!(m1["participant_sid"], serde_json::Value::Null);
    let m2 = s
        .post(&path, &[("Author", "bot"), ("Body", "third")])
        .expect(201);
    assert_eq!(m2["index"], 2);

    // Delete the last one: the next message still gets a fresh index.
    assert_eq!(
        s.delete(&format!("{path}/{}", m2["sid"].as_str().expect("sid")))
            .status,
        204
    );
    assert_eq!(s.post(&path, &[("Body", "fourth")]).expect(201)["index"], 3);

    // Fetch by SID and by index.
    assert_eq!(
        s.get(&format!("{path}/1")).expect(200)["body"],
        "from the system"
    );
    assert_eq!(
        s.get(&format!("{path}/{}", m0["sid"].as_str().expect("sid")))
            .expect(200)["index"],
        0
    );

    let asc: Vec<_> = s
        .list_all(&format!("{path}?PageSize=2"), "messages")
        .iter()
        .map(|m| m["index"].clone())
        .collect();
    assert_eq!(asc, vec![0, 1, 3]);
    let desc: Vec<_> = s
        .list_all(&format!("{path}?Order=desc&PageSize=2"), "messages")
        .iter()
        .map(|m| m["index"].clone())
        .collect();
    assert_eq!(desc, vec![3, 1, 0]);
    s.get(&format!("{path}?Order=sideways"))
        .expect_error(400, 20001);
}

#[test]
fn edits_and_limits() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Messages");
    let m = s.post(&path, &[("Body", "typo")]).expect(201);
    let msid = m["sid"].as_str().expect("sid");
    let e = s
        .post(
            &format!("{path}/{msid}"),
            &[("Body", "fixed"), ("Subject", "re")],
        )
        .expect(200);
    assert_eq!(e["body"], "fixed");
    assert_eq!(e["subject"], "re");
    assert_eq!(e["index"], 0);
    assert_eq!(
        s.get(&format!("{path}/{msid}")).expect(200)["body"],
        "fixed"
    );

    let long = "x".repeat(1601);
    s.post(&path, &[("Body", &long)]).expect_error(400, 21617);
    let exact = "é".repeat(1600);
    assert_eq!(
        s.post(&path, &[("Body", &exact)]).expect(201)["body"],
        exact,
        "1600 characters, not bytes"
    );
    s.post(&path, &[]).expect_error(400, 20001);
    s.post(&path, &[("Body", "x"), ("Attributes", "[1,")])
        .expect_error(400, 20001);
    s.post(&path, &[("MediaSid", "ME00000000000000000000000000000000")])
        .expect_error(404, 20404);
    s.post(
        &format!("{path}/IM00000000000000000000000000000000"),
        &[("Body", "x")],
    )
    .expect_error(404, 20404);
    assert_eq!(s.delete(&format!("{path}/{msid}")).status, 204);
    s.delete(&format!("{path}/{msid}")).expect_error(404, 20404);
}

#[test]
fn delivery_receipts_list_is_empty_for_chat_messages() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let m = s
        .post(&format!("/Conversations/{c}/Messages"), &[("Body", "hi")])
        .expect(201);
    let receipts = m["links"]["delivery_receipts"]
        .as_str()
        .expect("link")
        .to_owned();
    let page = s.get(&receipts).expect(200);
    assert_eq!(page["delivery_receipts"], serde_json::json!([]));
    assert_eq!(page["meta"]["key"], "delivery_receipts");
    s.get(&format!("{receipts}/DY00000000000000000000000000000000"))
        .expect_error(404, 20404);
}

#[test]
fn metrics_count_committed_messages_and_batches() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    for i in 0..3 {
        s.post(
            &format!("/Conversations/{c}/Messages"),
            &[("Body", &format!("m{i}"))],
        )
        .expect(201);
    }
    let text = s.get_text("/metrics");
    let value = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.trim().parse::<f64>().ok())
            })
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
    };
    assert_eq!(
        value("switchboard_conversations_messages_committed_total"),
        3.0
    );
    assert_eq!(value("switchboard_conversations_actors_live"), 1.0);
    assert!(
        value("switchboard_store_batch_units_count") >= 4.0,
        "conversation + 3 messages committed"
    );
    assert!(text.contains("switchboard_store_commit_seconds"));
}
