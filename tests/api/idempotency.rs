//! Idempotency keys on creates.

use crate::harness::{TestServer, form};

#[test]
fn a_retried_create_returns_the_first_response() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Messages");
    let body = form(&[("Body", "only once")]);
    let first = s.post_raw(&path, body.clone(), &[("Idempotency-Key", "k-1")]);
    assert_eq!(first.status, 201);
    assert!(!first.replayed);
    let again = s.post_raw(&path, body.clone(), &[("Idempotency-Key", "k-1")]);
    assert_eq!(again.status, 201);
    assert!(again.replayed);
    assert_eq!(again.body, first.body);
    // Twilio's own header name works too, and keys are per request.
    let twilio = s
        .post_raw(
            &path,
            body.clone(),
            &[("I-Twilio-Idempotency-Token", "k-2")],
        )
        .expect(201);
    assert_ne!(twilio["sid"], first.body["sid"]);
    assert_eq!(s.list_all(&path, "messages").len(), 2);

    s.post_raw(
        &path,
        form(&[("Body", "different")]),
        &[("Idempotency-Key", "k-1")],
    )
    .expect_error(422, 20001);

    // Survives a restart.
    let mut s = s;
    s.restart();
    let after = s.post_raw(&path, body, &[("Idempotency-Key", "k-1")]);
    assert!(after.replayed);
    assert_eq!(after.body["sid"], first.body["sid"]);
    assert_eq!(s.list_all(&path, "messages").len(), 2);
}

#[test]
fn concurrent_retries_create_once() {
    let s = TestServer::spawn();
    let c = s.conversation(&[]);
    let path = format!("/Conversations/{c}/Messages");
    let sids: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    s.post_raw(
                        &path,
                        form(&[("Body", "x")]),
                        &[("Idempotency-Key", "same")],
                    )
                    .expect(201)["sid"]
                        .clone()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(sids.iter().all(|x| *x == sids[0]));
    assert_eq!(s.list_all(&path, "messages").len(), 1);
}
