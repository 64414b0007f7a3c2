//! A real local HTTP receiver for webhook and provider tests: an actix-web server on
//! 127.0.0.1:0 in its own thread that records every request and answers as the test scripts
//! it (status, JSON body, delay) — a webhook endpoint and a fake Twilio Messages API.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `X-Twilio-Signature`.
    pub signature: Option<String>,
    /// `I-Twilio-Idempotency-Token`.
    pub idempotency: Option<String>,
    /// Form parameters (body for POST, query for GET).
    pub params: Vec<(String, String)>,
    /// HTTP Basic credentials as sent (`Authorization` header).
    pub authorization: Option<String>,
}

impl Received {
    /// The first value of a parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// Wait before answering.
    pub delay: Duration,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
}

impl Answer {
    /// `status` with an empty JSON object.
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            body: "{}".into(),
            delay: Duration::ZERO,
            content_type: "application/json",
        }
    }

    /// 200 with a file's bytes (as text) and its type.
    pub fn file(content_type: &'static str, body: &str) -> Answer {
        Answer {
            status: 200,
            body: body.to_owned(),
            delay: Duration::ZERO,
            content_type,
        }
    }

    /// 200 with `body`.
    pub fn json(body: serde_json::Value) -> Answer {
        Answer {
            status: 200,
            body: body.to_string(),
            delay: Duration::ZERO,
            content_type: "application/json",
        }
    }
}

type Script = dyn Fn(&Received) -> Answer + Send + Sync;

/// The running receiver.
pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    log: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Arc<Script>>>,
    _handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    /// Starts a receiver answering 200 `{}` to everything; the Messages API path answers a
    /// Twilio message with a fresh `SM…` sid.
    pub fn start() -> Receiver {
        Self::start_on("127.0.0.1:0")
    }

    fn start_on(addr: &str) -> Receiver {
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Mutex<Arc<Script>>> = Arc::new(Mutex::new(Arc::new(default_answer)));
        let (tx, rx) = std::sync::mpsc::channel();
        let (log2, script2, addr) = (log.clone(), script.clone(), addr.to_owned());
        std::thread::spawn(move || {
            let sys = actix_web::rt::System::new();
            sys.block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new((log2.clone(), script2.clone())))
                        .default_service(web::to(record))
                })
                .workers(1)
                .disable_signals()
                .bind(&addr)
                .expect("bind receiver");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).expect("send port");
                let _ = server.await;
            });
        });
        let (port, handle) = rx.recv().expect("receiver started");
        Receiver {
            origin: format!("http://127.0.0.1:{port}"),
            log,
            script,
            _handle: handle,
        }
    }

    /// Answers with `script` from now on.
    pub fn answer(&self, script: impl Fn(&Received) -> Answer + Send + Sync + 'static) {
        *self.script.lock().expect("script") = Arc::new(script);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn to(&self, prefix: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect()
    }
}

fn default_answer(r: &Received) -> Answer {
    if r.path.contains("/Messages.json") {
        Answer {
            status: 201,
            body: serde_json::json!({
                "sid": format!("SM{:032x}", rand_u128()),
                "status": "queued",
            })
            .to_string(),
            delay: Duration::ZERO,
            content_type: "application/json",
        }
    } else {
        Answer::status(200)
    }
}

fn rand_u128() -> u128 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

type Shared = (Arc<Mutex<Vec<Received>>>, Arc<Mutex<Arc<Script>>>);

async fn record(req: HttpRequest, body: web::Bytes, state: web::Data<Shared>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let params: Vec<(String, String)> = if req.method() == actix_web::http::Method::GET {
        form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect()
    } else {
        form_urlencoded::parse(&body).into_owned().collect()
    };
    let path = match req.query_string() {
        "" => req.path().to_owned(),
        q => format!("{}?{q}", req.path()),
    };
    let received = Received {
        method: req.method().to_string(),
        path,
        signature: header("X-Twilio-Signature"),
        idempotency: header("I-Twilio-Idempotency-Token"),
        params,
        authorization: header("Authorization"),
    };
    let script = state.1.lock().expect("script").clone();
    let answer = script(&received);
    state.0.lock().expect("log").push(received);
    if !answer.delay.is_zero() {
        actix_web::rt::time::sleep(answer.delay).await;
    }
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(answer.status)
            .unwrap_or(actix_web::http::StatusCode::OK),
    )
    .content_type(answer.content_type)
    .body(answer.body)
}
