//! Media: upload on Twilio's MCS path (Basic auth or an access token), download (authenticated
//! or through the signed link), attachments on messages over REST and the WebSocket.

use serde_json::json;

use crate::harness::{ACCOUNT, TOKEN, TestServer};
use crate::ws::{Minter, Ws};

fn service(s: &TestServer) -> String {
    s.get("/Configuration").expect(200)["default_chat_service_sid"]
        .as_str()
        .expect("service")
        .to_owned()
}

fn media_url(s: &TestServer, service: &str) -> String {
    format!("{}/v1/Services/{service}/Media", s.origin)
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..5000u32).map(|i| (i % 251) as u8));
    bytes
}

#[test]
fn uploads_are_stored_durably_and_served_to_authorised_callers() {
    let mut s = TestServer::spawn();
    let isid = service(&s);
    let auth = Some((ACCOUNT, TOKEN));
    let url = format!("{}?Filename=photo%201.png", media_url(&s, &isid));
    let media = s.upload(&url, png(), "image/png", auth, &[]).expect(201);
    let sid = media["sid"].as_str().expect("sid").to_owned();
    assert!(sid.starts_with("ME"));
    assert_eq!(media["size"], png().len());
    assert_eq!(media["content_type"], "image/png");
    assert_eq!(media["filename"], "photo 1.png");
    assert_eq!(media["service_sid"], isid);
    let content = format!("{}/{sid}/Content", media_url(&s, &isid));
    let (status, kind, bytes) = s.download(&content, auth);
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(bytes, png());
    // The signed link works without credentials; a tampered or missing one does not.
    let link = media["links"]["content_direct_temporary"]
        .as_str()
        .expect("link")
        .to_owned();
    assert_eq!(s.download(&link, None).2, png());
    assert_eq!(s.download(&format!("{link}x"), None).0, 401);
    assert_eq!(s.download(&content, None).0, 401);
    // Acknowledged means durable: a crash loses nothing.
    s.restart();
    let fetched = s
        .as_user("GET", &format!("{}/{sid}", media_url(&s, &isid)), auth, &[])
        .expect(200);
    assert_eq!(fetched["size"], png().len());
    let content = format!("{}/{sid}/Content", media_url(&s, &isid));
    assert_eq!(s.download(&content, auth).2, png());
}

#[test]
fn bad_uploads_are_refused_with_twilio_errors() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__MEDIA__MAX_BYTES", "4096")]);
    let isid = service(&s);
    let auth = Some((ACCOUNT, TOKEN));
    let url = media_url(&s, &isid);
    s.upload(&url, png(), "image/png", auth, &[])
        .expect_error(413, 20001);
    s.upload(&url, b"x".to_vec(), "", auth, &[])
        .expect_error(400, 20001);
    s.upload(&url, Vec::new(), "text/plain", auth, &[])
        .expect_error(400, 20001);
    s.upload(&url, b"x".to_vec(), "text/plain", None, &[])
        .expect_error(401, 20003);
    let other = url.replace(&isid, "IS00000000000000000000000000000000");
    s.upload(&other, b"x".to_vec(), "text/plain", auth, &[])
        .expect_error(404, 20404);
    let missing = format!("{url}/ME00000000000000000000000000000000");
    s.as_user("GET", &missing, auth, &[])
        .expect_error(404, 20404);
}

#[test]
fn attachments_travel_on_messages_over_rest_and_websocket() {
    let s = TestServer::spawn();
    let isid = service(&s);
    let minter = Minter::new(&s);
    let conversation = s.conversation(&[]);
    for identity in ["customer", "agent"] {
        s.post(
            &format!("/Conversations/{conversation}/Participants"),
            &[("Identity", identity)],
        )
        .expect(201);
    }
    let (mut agent, _) = Ws::session(&s, &minter.token("agent", Some("agent")));
    // A browser uploads with its access token.
    let token = minter.token("customer", None);
    let media = s
        .upload(
            &media_url(&s, &isid),
            b"%PDF-1.4 hello".to_vec(),
            "application/pdf",
            None,
            &[("X-Twilio-Token", &token)],
        )
        .expect(201);
    assert_eq!(media["author"], "customer");
    let me = media["sid"].as_str().expect("sid").to_owned();
    let (mut customer, _) = Ws::session(&s, &token);
    let sent = customer.ok(
        "send",
        json!({ "conversation_sid": conversation, "media_sids": [me] }),
    );
    assert_eq!(sent["message"]["media"][0]["sid"], me);
    let added = agent.event("message_added");
    assert_eq!(added["data"]["media"][0]["content_type"], "application/pdf");
    assert_eq!(added["data"]["media"][0]["size"], 14);
    // REST: MediaSid, as the helper libraries send it.
    let message = s
        .post(
            &format!("/Conversations/{conversation}/Messages"),
            &[("Author", "agent"), ("MediaSid", &me)],
        )
        .expect(201);
    assert_eq!(message["media"][0]["sid"], me);
    assert_eq!(message["body"], serde_json::Value::Null);
    assert_eq!(agent.event("message_added")["data"]["media"][0]["sid"], me);
    // Unknown media is refused.
    let unknown = "ME00000000000000000000000000000000";
    s.post(
        &format!("/Conversations/{conversation}/Messages"),
        &[("MediaSid", unknown)],
    )
    .expect_error(404, 20404);
    let err = customer.err(
        "send",
        json!({ "conversation_sid": conversation, "media_sids": [unknown] }),
    );
    assert_eq!(err["code"], 20404);
}
