//! Benchmark: live message fan-out over Switchboard's WebSocket gateway (`GET /v1/ws`,
//! docs/protocol.md) — the core of a future load tester.
//!
//! Spawns the real `switchboard` binary on 127.0.0.1 with a fresh data directory (or loads a
//! running one given with `--url`), then sets up over REST: an API key (`POST
//! /api/2010-04-01/Accounts/{AC}/Keys.json`), `--conversations` conversations, and in each two
//! participants, `customer-i` and `agent-i` (32 requests in flight). It mints the access tokens
//! itself (HS256 with the key's secret, Twilio's format: customers get a chat grant only,
//! agents `task_router.role = "agent"`, supervisors `"supervisor"`) and runs the shared load
//! of `ws_load/`: one socket per customer and per agent (token in `?token=`, then `hello`), and
//! `--supervisors` sockets that `monitor` `--per-supervisor` conversations each; customers send
//! at `--rate`, agents answer every customer message. See `ws_load/mod.rs` for what is
//! measured and `ws_bare` for the same load against a bare broadcaster.
//!
//! Run (the fd limit must cover every socket; this machine allows 20,000):
//! `ulimit -n 20000; cargo bench --bench ws_fanout -- --conversations 9900 --supervisors 10
//! --per-supervisor 100 --duration 30s --rate 1`. See docs/benchmarks.md.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod ws_load;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use ws_load::party::Role;
use ws_load::{LoadArgs, Plan, process};

const ACCOUNT_SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";

#[derive(Parser, Debug)]
#[command(
    name = "ws_fanout",
    about = "WebSocket fan-out load against Switchboard"
)]
struct Args {
    #[command(flatten)]
    load: LoadArgs,
    /// Load a running server at this loopback base URL (`http://127.0.0.1:PORT`) instead.
    #[arg(long)]
    url: Option<String>,
    /// Pid of the server given with `--url`, for its memory and CPU.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Account SID (the spawned server is given it; with `--url`, the server's).
    #[arg(long, default_value = ACCOUNT_SID)]
    account_sid: String,
    /// Auth token of that account.
    #[arg(long, default_value = AUTH_TOKEN)]
    auth_token: String,
    /// Extra environment for the spawned server, e.g. `SWITCHBOARD__STORE__SYNCHRONOUS=normal`
    /// (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    server_env: Vec<String>,
    /// REST requests in flight during set-up.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// Directory in which the temporary data directory is created (default: the system temp dir).
    #[arg(long)]
    tmp_in: Option<PathBuf>,
    /// Server binary (default: the release binary cargo built for this bench).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
    /// Benchmark-name filters `cargo bench` may pass; ignored.
    #[arg(hide = true)]
    _filters: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.load.check()?;
    let rt = args.load.runtime()?;
    let budget = args.load.budget();
    // Dropping `run` (time-out, Ctrl-C) drops the server handle, which kills the server.
    rt.block_on(async {
        tokio::select! {
            outcome = tokio::time::timeout(budget, run(&args)) => match outcome {
                Ok(result) => result,
                Err(_) => bail!("benchmark exceeded its time budget of {budget:?}"),
            },
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let data_dir = tempfile::Builder::new()
        .prefix("switchboard-bench-")
        .tempdir_in(args.tmp_in.clone().unwrap_or_else(std::env::temp_dir))?;
    let (server, base, pid) = match &args.url {
        Some(url) => {
            let parsed = reqwest::Url::parse(url).context("--url")?;
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host == "localhost"
                || host
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            ensure!(loopback, "--url must be a loopback address, not {url}");
            (None, url.trim_end_matches('/').to_owned(), args.server_pid)
        }
        None => {
            let server = spawn_server(args, data_dir.path())?;
            let base = format!("http://{}", server.addr);
            let pid = server.pid();
            (Some(server), base, Some(pid))
        }
    };
    switchboard::webhooks::install_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.setup_concurrency)
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?;
    wait_healthy(&http, &base).await?;
    let addr: std::net::SocketAddr = tokio::net::lookup_host(base.trim_start_matches("http://"))
        .await?
        .find(|a| a.ip().is_loopback())
        .context("server address")?;

    let t = Instant::now();
    let rest = Rest {
        http,
        base: base.clone(),
        account: args.account_sid.clone(),
        token: args.auth_token.clone(),
    };
    let key = rest
        .post(
            &format!("/api/2010-04-01/Accounts/{}/Keys.json", rest.account),
            &[("FriendlyName", "bench")],
        )
        .await?;
    let key = SigningKey {
        sid: key["sid"].as_str().context("key sid")?.to_owned(),
        secret: key["secret"].as_str().context("key secret")?.to_owned(),
        account: args.account_sid.clone(),
    };
    let sids = set_up_conversations(&rest, args.load.conversations, args.setup_concurrency).await?;
    drop(rest); // closes the set-up connections
    eprintln!(
        "set up {} conversations with 2 participants each in {:.1} s",
        sids.len(),
        t.elapsed().as_secs_f64()
    );

    let ttl = args.load.budget().as_secs() as i64 + 3600;
    let ws_base = format!("ws://{addr}/v1/ws");
    let parties = ws_load::parties(
        &args.load,
        |identity, role| {
            let token = key.mint(identity, role, ttl);
            format!("{ws_base}?token={token}")
        },
        |_, _| json!({"type": "hello", "id": 0, "protocol": 1}).to_string(),
    );
    let plan = Plan {
        name: "ws_fanout",
        addr,
        sids,
        parties,
        echo_own: true,
        server_pid: pid,
    };
    let result = ws_load::run(&args.load, plan).await;
    drop(server);
    result
}

fn spawn_server(args: &Args, data_dir: &std::path::Path) -> anyhow::Result<process::ServerProcess> {
    let bin = args
        .server_bin
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_switchboard")));
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .env("SWITCHBOARD_ACCOUNT_SID", &args.account_sid)
        .env("SWITCHBOARD_AUTH_TOKEN", &args.auth_token)
        .env("SWITCHBOARD__CONVERSATIONS__RATE_LIMIT_PER_SECOND", "0")
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .env_remove("RUST_LOG");
    for kv in &args.server_env {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--server-env {kv}: expected KEY=VALUE"))?;
        cmd.env(k, v);
    }
    process::spawn(cmd, "switchboard listening on http://")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "/healthz not OK within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// REST calls with the account's Basic credentials.
struct Rest {
    http: reqwest::Client,
    base: String,
    account: String,
    token: String,
}

impl Rest {
    /// POSTs a form and returns the 201's JSON body.
    async fn post(&self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<serde_json::Value> {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            body.append_pair(k, v);
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.account, Some(&self.token))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = r.status();
        let text = r.text().await?;
        ensure!(status == 201, "POST {path}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }
}

/// Creates `n` conversations, each with `customer-i` and `agent-i`, `concurrency` at a time.
async fn set_up_conversations(
    rest: &Rest,
    n: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicUsize::new(0));
    let work = (0..concurrency.clamp(1, n)).map(|_| {
        let next = next.clone();
        async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(made);
                }
                let conv = rest
                    .post(
                        "/conversations/v1/Conversations",
                        &[("FriendlyName", &format!("ws bench {i}"))],
                    )
                    .await?;
                let sid = conv["sid"].as_str().context("conversation sid")?.to_owned();
                let path = format!("/conversations/v1/Conversations/{sid}/Participants");
                for identity in [ws_load::customer(i), ws_load::agent(i)] {
                    rest.post(&path, &[("Identity", &identity)]).await?;
                }
                made.push((i, sid));
            }
        }
    });
    let mut all = Vec::with_capacity(n);
    for made in futures_util::future::join_all(work).await {
        all.extend(made?);
    }
    all.sort();
    Ok(all.into_iter().map(|(_, sid)| sid).collect())
}

/// The API key access tokens are signed with.
struct SigningKey {
    sid: String,
    secret: String,
    account: String,
}

impl SigningKey {
    /// A Twilio-format access token (`cty: twilio-fpa;v=1`, HS256) for `identity`: customers a
    /// chat grant only (guests), agents and supervisors a TaskRouter grant with their role.
    fn mint(&self, identity: &str, role: &Role, ttl_secs: i64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut grants = json!({"identity": identity, "chat": {}});
        match role {
            Role::Customer(_) => {}
            Role::Agent(_) => grants["task_router"] = json!({"role": "agent"}),
            Role::Supervisor(_) => grants["task_router"] = json!({"role": "supervisor"}),
        }
        let claims = json!({
            "jti": format!("{}-{now}-{identity}", self.sid),
            "iss": self.sid,
            "sub": self.account,
            "exp": now + ttl_secs,
            "nbf": now,
            "grants": grants,
        });
        let mut header = Header::new(Algorithm::HS256);
        header.cty = Some("twilio-fpa;v=1".into());
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .expect("HS256 over JSON claims cannot fail")
    }
}
