//! Boots the real `switchboard` binary on `127.0.0.1:0` with a temporary data directory,
//! waits until `/healthz` answers, and talks to it as a Twilio client does (Basic auth,
//! form-encoded bodies, JSON answers). The process is killed when the `TestServer` drops.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Fixed credentials tests use (`SWITCHBOARD_ACCOUNT_SID` / `SWITCHBOARD_AUTH_TOKEN`).
pub const ACCOUNT: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// The account's auth token.
pub const TOKEN: &str = "test-auth-token-0123456789abcdef";

/// A running server process.
pub struct TestServer {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub origin: String,
    data: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
    /// Credentials requests use by default.
    pub auth: (String, String),
    http: reqwest::blocking::Client,
}

/// A response: status and JSON body (Null when empty).
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// `Idempotency-Replayed` header, if any.
    pub replayed: bool,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts a Twilio error with this status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: u64) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body: {}",
            self.body
        );
        assert_eq!(self.body["status"], status, "status repeated in body");
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message present"
        );
        assert!(
            self.body["more_info"]
                .as_str()
                .is_some_and(|m| m.contains(&code.to_string()))
        );
        self.body
    }
}

/// Encodes form pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl TestServer {
    /// A server with default test settings (rate limit off).
    pub fn spawn() -> TestServer {
        TestServer::spawn_with(&[])
    }

    /// A server with extra environment (`SWITCHBOARD__…` overrides).
    pub fn spawn_with(env: &[(&str, &str)]) -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data = tmp.path().join("data");
        let mut all = vec![
            ("SWITCHBOARD_ACCOUNT_SID".to_owned(), ACCOUNT.to_owned()),
            ("SWITCHBOARD_AUTH_TOKEN".to_owned(), TOKEN.to_owned()),
            (
                "SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND".to_owned(),
                "0".to_owned(),
            ),
        ];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut server = TestServer {
            child: None,
            origin: String::new(),
            data,
            _tmp: Some(tmp),
            env: all,
            auth: (ACCOUNT.into(), TOKEN.into()),
            http: {
                switchboard::webhooks::install_tls_provider();
                reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .expect("client")
            },
        };
        server.start();
        server
    }

    fn start(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.data)
            .env_remove("RUST_LOG")
            .env("SWITCHBOARD__LOG__LEVEL", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start switchboard");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("switchboard listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let origin = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server printed its address");
        self.origin = origin;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(format!("{}/healthz", self.origin)).send()
                && r.status().as_u16() == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "server never became healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process with SIGKILL (no graceful shutdown) and waits for it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit; returns its exit status.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM delivered");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not stop within {within:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// POST that reports transport failures (a killed server) as `None` instead of panicking.
    pub fn try_post(&self, path: &str, pairs: &[(&str, &str)]) -> Option<Reply> {
        let resp = self
            .http
            .post(self.url(path))
            .basic_auth(&self.auth.0, Some(&self.auth.1))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(pairs))
            .send()
            .ok()?;
        let status = resp.status().as_u16();
        let body = serde_json::from_str(&resp.text().ok()?).ok()?;
        Some(Reply {
            status,
            body,
            replayed: false,
        })
    }

    /// Starts the server again on the same data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.start();
    }

    /// Full URL for a Conversations path (`/Conversations` → `…/conversations/v1/Conversations`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else if path.starts_with('/')
            && (path.starts_with("/api/")
                || path.starts_with("/conversations/")
                || path.starts_with("/taskrouter/")
                || path.starts_with("/flex-api/")
                || path.starts_with("/mcs/")
                || path.starts_with("/channels/")
                || path.starts_with("/simulator")
                || path.starts_with("/switchboard/"))
        {
            format!("{}{path}", self.origin)
        } else {
            format!("{}/conversations/v1{path}", self.origin)
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder, auth: Option<(&str, &str)>) -> Reply {
        let req = match auth {
            Some((u, p)) => req.basic_auth(u, Some(p)),
            None => req,
        };
        let resp = req.send().expect("request sent");
        let status = resp.status().as_u16();
        let replayed = resp.headers().get("Idempotency-Replayed").is_some();
        let text = resp.text().expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else if text.starts_with("<?xml") {
            // TwiML (provider webhooks) is kept as a string.
            Value::String(text)
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON body ({status}): {text}"))
        };
        Reply {
            status,
            body,
            replayed,
        }
    }

    fn creds(&self) -> Option<(&str, &str)> {
        Some((self.auth.0.as_str(), self.auth.1.as_str()))
    }

    /// GET with the default credentials.
    pub fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)), self.creds())
    }

    /// GET a non-JSON page (e.g. `/metrics`) without credentials.
    pub fn get_text(&self, path: &str) -> String {
        self.http
            .get(format!("{}{path}", self.origin))
            .send()
            .expect("request sent")
            .text()
            .expect("body")
    }

    /// POST a form with the default credentials.
    pub fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        self.post_raw(path, form(pairs), &[])
    }

    /// POST a raw form body with extra headers.
    pub fn post_raw(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .http
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, self.creds())
    }

    /// POST raw bytes with a content type and optional credentials (media uploads).
    pub fn upload(
        &self,
        path: &str,
        bytes: Vec<u8>,
        content_type: &str,
        auth: Option<(&str, &str)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .post(self.url(path))
            .header("Content-Type", content_type)
            .body(bytes);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, auth)
    }

    /// GET raw bytes (status, content type, body) with optional credentials.
    pub fn download(&self, url: &str, auth: Option<(&str, &str)>) -> (u16, String, Vec<u8>) {
        let mut req = self.http.get(self.url(url));
        if let Some((u, p)) = auth {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req.send().expect("request sent");
        let status = resp.status().as_u16();
        let kind = resp
            .headers()
            .get("Content-Type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (status, kind, resp.bytes().expect("body").to_vec())
    }

    /// DELETE with the default credentials.
    pub fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(self.url(path)), self.creds())
    }

    /// DELETE with extra headers; returns the status.
    pub fn http_delete(&self, path: &str, headers: &[(&str, &str)]) -> u16 {
        let mut req = self.http.delete(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, self.creds()).status
    }

    /// A request with other credentials (or none).
    pub fn as_user(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        pairs: &[(&str, &str)],
    ) -> Reply {
        let req = match method {
            "GET" => self.http.get(self.url(path)),
            "DELETE" => self.http.delete(self.url(path)),
            _ => self
                .http
                .post(self.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form(pairs)),
        };
        self.send(req, auth)
    }

    /// Follows `next_page_url` from `path` and returns every item under `key`.
    pub fn list_all(&self, path: &str, key: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut url = self.url(path);
        loop {
            let page = self.get(&url).expect(200);
            assert_eq!(page["meta"]["key"], key);
            out.extend(page[key].as_array().expect("items").iter().cloned());
            match page["meta"]["next_page_url"].as_str() {
                Some(next) => url = next.to_owned(),
                None => return out,
            }
        }
    }

    /// Creates a conversation and returns its SID.
    pub fn conversation(&self, pairs: &[(&str, &str)]) -> String {
        let c = self.post("/Conversations", pairs).expect(201);
        c["sid"].as_str().expect("sid").to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls `check` until it returns `Some`, failing after `limit`.
#[track_caller]
pub fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
