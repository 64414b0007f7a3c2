//! Media: upload on Twilio's MCS path `/mcs/v1/…` (Basic auth or an access token) and on the
//! older `/v1/…` path, download (authenticated, streamed, or through the expiring signed link),
//! the chat channel's size and type limits, attachments on messages over REST and the
//! WebSocket.

use std::time::Duration;

use serde_json::json;

use crate::harness::{ACCOUNT, TOKEN, TestServer, eventually};
use crate::ws::{Minter, Ws};

fn service(s: &TestServer) -> String {
    s.get("/Configuration").expect(200)["default_chat_service_sid"]
        .as_str()
        .expect("service")
        .to_owned()
}

fn media_url(s: &TestServer, service: &str) -> String {
    format!("{}/mcs/v1/Services/{service}/Media", s.origin)
}

/// The path media had before the MCS prefix; it keeps working.
fn legacy_media_url(s: &TestServer, service: &str) -> String {
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
fn mcs_and_legacy_paths_serve_the_same_media_and_render_mcs_urls() {
    let s = TestServer::spawn();
    let isid = service(&s);
    let auth = Some((ACCOUNT, TOKEN));
    // Uploaded on the old path, rendered with the MCS one.
    let media = s
        .upload(&legacy_media_url(&s, &isid), png(), "image/png", auth, &[])
        .expect(201);
    let sid = media["sid"].as_str().expect("sid").to_owned();
    let mcs = format!("{}/{sid}", media_url(&s, &isid));
    assert_eq!(media["url"], mcs);
    assert_eq!(
        media["links"]["content"],
        format!("/mcs/v1/Services/{isid}/Media/{sid}/Content")
    );
    let link = media["links"]["content_direct_temporary"]
        .as_str()
        .expect("link")
        .to_owned();
    assert!(
        link.starts_with(&format!("{mcs}/Content?Token=")),
        "absolute MCS link: {link}"
    );
    // Both paths fetch the record and the bytes, with Basic auth or the link.
    let legacy = format!("{}/{sid}", legacy_media_url(&s, &isid));
    for record in [&mcs, &legacy] {
        assert_eq!(s.as_user("GET", record, auth, &[]).expect(200)["sid"], sid);
        let (status, kind, bytes) = s.download(&format!("{record}/Content"), auth);
        assert_eq!((status, kind.as_str(), bytes), (200, "image/png", png()));
        assert_eq!(s.download(&format!("{record}/Content"), None).0, 401);
    }
    let token = link.split("Token=").nth(1).expect("token");
    assert_eq!(s.download(&link, None).2, png());
    assert_eq!(
        s.download(&format!("{legacy}/Content?Token={token}"), None)
            .2,
        png()
    );
    // A link names one media: it opens no other.
    let other = s
        .upload(
            &media_url(&s, &isid),
            b"other".to_vec(),
            "text/plain",
            auth,
            &[],
        )
        .expect(201);
    let other_sid = other["sid"].as_str().expect("sid");
    let borrowed = format!("{}/{other_sid}/Content?Token={token}", media_url(&s, &isid));
    assert_eq!(s.download(&borrowed, None).0, 401);
}

#[test]
fn signed_links_expire_after_the_configured_ttl() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__MEDIA__LINK_TTL", "2s")]);
    let isid = service(&s);
    let media = s
        .upload(
            &media_url(&s, &isid),
            png(),
            "image/png",
            Some((ACCOUNT, TOKEN)),
            &[],
        )
        .expect(201);
    let link = media["links"]["content_direct_temporary"]
        .as_str()
        .expect("link")
        .to_owned();
    assert_eq!(s.download(&link, None).0, 200, "fresh link works");
    let expired = eventually(Duration::from_secs(15), || {
        let (status, _, body) = s.download(&link, None);
        (status != 200).then_some((status, body))
    });
    assert_eq!(expired.0, 401);
    let body: serde_json::Value = serde_json::from_slice(&expired.1).expect("Twilio error body");
    assert_eq!(body["code"], 20003);
    // Fetching the record again hands out a fresh link.
    let sid = media["sid"].as_str().expect("sid");
    let fresh = s
        .as_user(
            "GET",
            &format!("{}/{sid}", media_url(&s, &isid)),
            Some((ACCOUNT, TOKEN)),
            &[],
        )
        .expect(200);
    let fresh = fresh["links"]["content_direct_temporary"]
        .as_str()
        .expect("link");
    assert_eq!(s.download(fresh, None).2, png());
}

#[test]
fn chat_limits_bound_upload_size_and_type() {
    let s = TestServer::spawn_with(&[
        ("SWITCHBOARD__MEDIA__LIMITS__CHAT__MAX_BYTES", "4096"),
        (
            "SWITCHBOARD__MEDIA__LIMITS__CHAT__CONTENT_TYPES",
            r#"["image/png", "text/*"]"#,
        ),
    ]);
    let isid = service(&s);
    let auth = Some((ACCOUNT, TOKEN));
    let url = media_url(&s, &isid);
    let too_large = s
        .upload(&url, png(), "image/png", auth, &[])
        .expect_error(413, 20001);
    assert_eq!(
        too_large["message"],
        "Request body exceeds the limit of 4096 bytes"
    );
    s.upload(&url, vec![1u8; 4096], "image/png", auth, &[])
        .expect(201);
    s.upload(&url, b"hi".to_vec(), "text/plain; charset=utf-8", auth, &[])
        .expect(201);
    let refused = s
        .upload(&url, b"%PDF-1.4".to_vec(), "application/pdf", auth, &[])
        .expect_error(415, 12300);
    assert_eq!(
        refused["message"],
        "Content type application/pdf is not accepted for chat media"
    );
    // The limits are the same on the older path.
    s.upload(
        &legacy_media_url(&s, &isid),
        b"GIF89a".to_vec(),
        "image/gif",
        auth,
        &[],
    )
    .expect_error(415, 12300);
    let leftovers = std::fs::read_dir(s.data_dir().join("media/tmp"))
        .expect("tmp dir")
        .count();
    assert_eq!(leftovers, 0, "refused uploads leave no temp file");
}

#[test]
fn large_files_stream_back_byte_for_byte() {
    let s = TestServer::spawn();
    let isid = service(&s);
    let auth = Some((ACCOUNT, TOKEN));
    // 20 MiB that no compression or chunk-size accident reproduces.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let big: Vec<u8> = (0..20 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let media = s
        .upload(&media_url(&s, &isid), big.clone(), "video/mp4", auth, &[])
        .expect(201);
    assert_eq!(media["size"], big.len());
    let sid = media["sid"].as_str().expect("sid");
    switchboard::webhooks::install_tls_provider();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let resp = http
        .get(format!("{}/{sid}/Content", media_url(&s, &isid)))
        .basic_auth(ACCOUNT, Some(TOKEN))
        .send()
        .expect("download");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("Content-Length"), Some(big.len().to_string()));
    assert_eq!(header("Content-Type").as_deref(), Some("video/mp4"));
    assert_eq!(header("X-Content-Type-Options").as_deref(), Some("nosniff"));
    assert_eq!(header("Content-Disposition").as_deref(), Some("attachment"));
    let bytes = resp.bytes().expect("body");
    assert_eq!(bytes.len(), big.len());
    assert!(bytes[..] == big[..], "the bytes come back unchanged");
}

#[test]
fn bad_uploads_are_refused_with_twilio_errors() {
    let s = TestServer::spawn_with(&[("SWITCHBOARD__MEDIA__LIMITS__CHAT__MAX_BYTES", "4096")]);
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
