//! `switchboard load`'s command line: the scenario file, flags that override it, where the
//! server is and whose account to use, and where the JSON report and the SVG chart go. Runs
//! the load on its own tokio runtime, prints the closing table, and tells `main` whether the
//! run passed (the exit status).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

use super::scenario::Scenario;
use super::{Target, chart, run};

/// Options of `switchboard load`.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Scenario file (TOML; see config/load/); flags below override it.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Account SID [default: SWITCHBOARD_ACCOUNT_SID, else DATA_DIR/account.json].
    #[arg(long, env = "SWITCHBOARD_ACCOUNT_SID")]
    pub account_sid: Option<String>,
    /// Its auth token [default: SWITCHBOARD_AUTH_TOKEN, else DATA_DIR/account.json].
    #[arg(long, env = "SWITCHBOARD_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// Data directory of a local server, whose account.json holds the credentials.
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// Simulated agents.
    #[arg(long)]
    pub agents: Option<usize>,
    /// Chats each agent takes at once.
    #[arg(long)]
    pub capacity: Option<u32>,
    /// Customers chatting at once once ramped up.
    #[arg(long)]
    pub customers: Option<usize>,
    /// New customers per second, at most.
    #[arg(long)]
    pub arrival_rate: Option<f64>,
    /// Share of customers over SMS (the rest over webchat).
    #[arg(long)]
    pub sms_ratio: Option<f64>,
    /// Messages each customer writes.
    #[arg(long)]
    pub messages: Option<u32>,
    /// Time between a customer's messages (e.g. 5s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub message_interval: Option<Duration>,
    /// Supervisors.
    #[arg(long)]
    pub supervisors: Option<usize>,
    /// Conversations each supervisor monitors.
    #[arg(long)]
    pub per_supervisor: Option<usize>,
    /// How long customers keep arriving (e.g. 60s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Time to reach the full customer population.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ramp_up: Option<Duration>,
    /// Step-up mode: raise the load until p99 crosses --p99-limit.
    #[arg(long)]
    pub step_up: bool,
    /// Step-up's p99 send → receive limit (e.g. 100ms).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub p99_limit: Option<Duration>,
    /// Tokio worker threads of the load tester.
    #[arg(long)]
    pub threads: Option<usize>,
    /// The server's PID, for its CPU and memory (same machine).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write the JSON report here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Write the SVG chart (latency percentiles and throughput over time) here.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Remove the workers, queue, workflow and addresses afterwards.
    #[arg(long)]
    pub cleanup: bool,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

impl LoadArgs {
    /// The scenario file (or defaults) with the flags applied.
    pub fn scenario(&self) -> anyhow::Result<Scenario> {
        let mut s = match &self.scenario {
            Some(path) => Scenario::load(path)?,
            None => Scenario::default(),
        };
        set(&mut s.agents.count, self.agents);
        set(&mut s.agents.capacity, self.capacity);
        set(&mut s.customers.concurrent, self.customers);
        set(&mut s.customers.arrival_rate, self.arrival_rate);
        set(&mut s.customers.sms_ratio, self.sms_ratio);
        set(&mut s.customers.messages, self.messages);
        set(&mut s.customers.message_interval, self.message_interval);
        set(&mut s.supervisors.count, self.supervisors);
        set(&mut s.supervisors.per_supervisor, self.per_supervisor);
        set(&mut s.duration, self.duration);
        set(&mut s.ramp_up, self.ramp_up);
        set(&mut s.step_up.p99_limit, self.p99_limit);
        set(&mut s.threads, self.threads);
        s.step_up.enabled |= self.step_up;
        s.check()?;
        Ok(s)
    }

    fn credentials(&self) -> anyhow::Result<(String, String)> {
        if let (Some(sid), Some(token)) = (&self.account_sid, &self.auth_token) {
            return Ok((sid.clone(), token.clone()));
        }
        let file = self.data_dir.join(crate::startup::CREDENTIALS_FILE);
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "no credentials: pass --account-sid and --auth-token (or SWITCHBOARD_ACCOUNT_SID \
                 and SWITCHBOARD_AUTH_TOKEN), or --data-dir of the server ({} not readable)",
                file.display()
            )
        })?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let field = |k: &str| {
            v[k].as_str()
                .map(str::to_owned)
                .with_context(|| format!("{} has no {k}", file.display()))
        };
        Ok((field("account_sid")?, field("auth_token")?))
    }
}

/// Runs `switchboard load`; `Ok(true)` when the run passed.
#[allow(clippy::print_stdout)] // The table is the command's output.
pub fn main(args: LoadArgs) -> anyhow::Result<bool> {
    let scenario = args.scenario()?;
    let (account, auth_token) = args.credentials()?;
    let target = Target {
        base: args.url.clone(),
        account,
        auth_token,
        server_pid: args.server_pid,
        cleanup: args.cleanup,
        progress: !args.quiet,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(scenario.threads)
        .enable_all()
        .build()?;
    let report = runtime.block_on(run(scenario, target))?;
    // Simulated clients' timers may still be pending; they hold nothing worth waiting for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    print!("{}", report.table());
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.chart {
        std::fs::write(path, chart::render(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report.passed)
}

/// Overrides `target` with `value` when a flag gave one.
fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *target = v;
    }
}
