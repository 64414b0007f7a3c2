//! Tests of [`fetch_remote`](super::fetch_remote) against a loopback HTTP server started in
//! each test (no network beyond 127.0.0.1), and of the file-name rules.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::config::Settings;

/// A raw HTTP/1.1 answer that closes the connection.
fn answer(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Request heads a test server received.
type Seen = Arc<Mutex<Vec<String>>>;

/// A loopback server answering each request by its path (404 for others), one request
/// per connection. It lives as long as the test's runtime.
async fn serve(routes: Vec<(&'static str, Vec<u8>)>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Seen::default();
    let log = Arc::clone(&seen);
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let routes = Arc::clone(&routes);
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                log.lock().expect("log").push(head);
                let reply = routes
                    .iter()
                    .find(|(p, _)| *p == path)
                    .map(|(_, reply)| reply.clone())
                    .unwrap_or_else(|| answer("404 Not Found", &[("Content-Length", "0")], b""));
                // The client may hang up early (a refused download); that is fine.
                let _ = socket.write_all(&reply).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (origin, seen)
}

fn client() -> reqwest::Client {
    crate::webhooks::install_tls_provider();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Default media settings with chat media limited to `max_bytes`.
fn settings(max_bytes: u64) -> MediaSettings {
    let mut media = Settings::default().media;
    media.limits.chat.max_bytes = max_bytes;
    media
}

fn leftovers(dir: &tempfile::TempDir) -> usize {
    std::fs::read_dir(dir.path().join("media/tmp"))
        .expect("tmp dir")
        .count()
}

#[tokio::test]
async fn follows_redirects_with_credentials_and_names_the_file() {
    let (origin, seen) = serve(vec![
        (
            "/Media/ME1",
            answer(
                "302 Found",
                &[
                    ("Location", "/files/photo%201.jpg"),
                    ("Content-Length", "0"),
                ],
                b"",
            ),
        ),
        (
            "/files/photo%201.jpg",
            answer("200 OK", &[("Content-Type", "image/jpeg")], b"jpeg bytes"),
        ),
    ])
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let files = MediaFiles::open(dir.path()).expect("open");
    let fetched = fetch_remote(
        &client(),
        &files,
        &format!("{origin}/Media/ME1"),
        Some(("ACx", "secret")),
        MediaChannel::Whatsapp,
        &settings(1024),
    )
    .await
    .expect("fetched");
    assert_eq!(fetched.size, 10);
    assert_eq!(fetched.content_type, "image/jpeg");
    assert_eq!(fetched.filename.as_deref(), Some("photo 1.jpg"));
    assert_eq!(
        std::fs::read(files.path(&fetched.sha256)).expect("stored"),
        b"jpeg bytes"
    );
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 2, "the redirect was followed");
    // base64("ACx:secret")
    assert!(
        seen[0].contains("authorization: Basic QUN4OnNlY3JldA=="),
        "{}",
        seen[0]
    );
}

#[tokio::test]
async fn content_disposition_names_the_file_and_a_bare_sid_does_not() {
    let (origin, _) = serve(vec![
        (
            "/Media/ME2",
            answer(
                "200 OK",
                &[
                    ("Content-Type", "application/pdf"),
                    (
                        "Content-Disposition",
                        "attachment; filename=\"cv.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
                    ),
                ],
                b"%PDF-1.4",
            ),
        ),
        (
            "/Media/ME3",
            answer(
                "200 OK",
                &[("Content-Type", "audio/ogg; codecs=opus")],
                b"OggS",
            ),
        ),
    ])
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let files = MediaFiles::open(dir.path()).expect("open");
    let fetch = |path: &'static str| {
        let url = format!("{origin}{path}");
        let files = &files;
        async move {
            fetch_remote(
                &client(),
                files,
                &url,
                None,
                MediaChannel::Whatsapp,
                &settings(1024),
            )
            .await
        }
    };
    let pdf = fetch("/Media/ME2").await.expect("pdf");
    assert_eq!(pdf.filename.as_deref(), Some("résumé.pdf"));
    let voice = fetch("/Media/ME3").await.expect("voice note");
    assert_eq!(voice.content_type, "audio/ogg; codecs=opus");
    assert_eq!(voice.filename, None);
}

#[tokio::test]
async fn the_limit_applies_while_streaming_and_leaves_nothing_behind() {
    let big = vec![7u8; 64 * 1024];
    let (origin, _) = serve(vec![
        // No Content-Length: only counting the streamed bytes can catch it.
        (
            "/undeclared",
            answer("200 OK", &[("Content-Type", "video/mp4")], &big),
        ),
        (
            "/declared",
            answer(
                "200 OK",
                &[("Content-Type", "video/mp4"), ("Content-Length", "65536")],
                &big,
            ),
        ),
    ])
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let files = MediaFiles::open(dir.path()).expect("open");
    for path in ["/undeclared", "/declared"] {
        let refused = fetch_remote(
            &client(),
            &files,
            &format!("{origin}{path}"),
            None,
            MediaChannel::Chat,
            &settings(1000),
        )
        .await;
        assert_eq!(
            refused,
            Err(FetchError::Refused(ApiError::PayloadTooLarge(1000))),
            "{path}"
        );
    }
    assert_eq!(leftovers(&dir), 0, "no temp file survives a refusal");
}

#[tokio::test]
async fn types_the_channel_does_not_take_are_refused_unread() {
    let (origin, _) = serve(vec![(
        "/archive.zip",
        answer("200 OK", &[("Content-Type", "application/zip")], b"PK"),
    )])
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let files = MediaFiles::open(dir.path()).expect("open");
    let url = format!("{origin}/archive.zip");
    let refused = fetch_remote(
        &client(),
        &files,
        &url,
        None,
        MediaChannel::Sms,
        &settings(1024),
    )
    .await;
    assert_eq!(
        refused,
        Err(FetchError::Refused(ApiError::MediaTypeNotAllowed {
            content_type: "application/zip".into(),
            channel: "sms",
        }))
    );
    assert_eq!(leftovers(&dir), 0);
    // The same file is fine where any type goes.
    let fetched = fetch_remote(
        &client(),
        &files,
        &url,
        None,
        MediaChannel::Messenger,
        &settings(1024),
    )
    .await
    .expect("messenger takes any file");
    assert_eq!(fetched.filename.as_deref(), Some("archive.zip"));
}

#[tokio::test]
async fn http_and_network_failures_are_errors_not_panics() {
    let (origin, _) = serve(Vec::new()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let files = MediaFiles::open(dir.path()).expect("open");
    let media = settings(1024);
    let missing = fetch_remote(
        &client(),
        &files,
        &format!("{origin}/gone.png"),
        None,
        MediaChannel::Chat,
        &media,
    )
    .await;
    assert_eq!(missing, Err(FetchError::Status(404)));
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let unreachable = fetch_remote(
        &client(),
        &files,
        &format!("http://127.0.0.1:{port}/x.png?Signature=secret"),
        None,
        MediaChannel::Chat,
        &media,
    )
    .await;
    match unreachable {
        Err(FetchError::Network(reason)) => {
            assert!(!reason.contains("secret"), "the URL stays out: {reason}")
        }
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[test]
fn file_names_come_from_the_disposition_or_a_file_like_url() {
    let table = [
        ("attachment; filename=\"a b.png\"", Some("a b.png")),
        ("attachment; filename=plain.txt", Some("plain.txt")),
        (
            "inline; filename=\"semi;colon \\\"q\\\".txt\"",
            Some("semi;colon \"q\".txt"),
        ),
        ("attachment; filename*=UTF-8''%E2%82%AC.txt", Some("€.txt")),
        ("attachment; filename=\"../../etc/passwd\"", Some("passwd")),
        (
            "attachment; filename*=ISO-8859-1''x.txt; filename=y.txt",
            Some("y.txt"),
        ),
        ("attachment", None),
        ("attachment; filename=\"\"", None),
    ];
    for (value, want) in table {
        assert_eq!(disposition_filename(value).as_deref(), want, "{value}");
    }
    let urls = [
        ("https://x.test/a/photo.jpeg", Some("photo.jpeg")),
        ("https://x.test/a/my%20file.pdf?sig=1", Some("my file.pdf")),
        ("https://x.test/Accounts/AC1/Media/ME123", None),
        ("https://x.test/a/.hidden", None),
        ("https://x.test/a/v1.2.3-long-suffix", None),
        ("https://x.test/", None),
    ];
    for (url, want) in urls {
        let url = reqwest::Url::parse(url).expect("url");
        assert_eq!(url_filename(&url).as_deref(), want, "{url}");
    }
}
