//! A load scenario: who takes part (agents, customers over webchat and SMS, supervisors), how
//! they behave (think times, reject and time-out ratios, message cadence, typing, attachments),
//! how long it runs and, in step-up mode, how the load rises. Read from a TOML file under
//! `config/load/` (every key optional, unknown keys refused), then overridden by CLI flags.
//! `check` refuses values that would make a run meaningless or unbounded.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde::{Deserialize, Serialize};

/// The whole scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Shown in the report.
    pub name: String,
    /// How long customers keep arriving (step-up: ignored; the stages decide).
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
    /// Time over which the customer population rises from 0 to `customers.concurrent`.
    #[serde(with = "humantime_serde")]
    pub ramp_up: Duration,
    /// Longest wait, after traffic stops, for the deliveries still owed and the chats to end.
    #[serde(with = "humantime_serde")]
    pub drain: Duration,
    /// REST requests in flight during set-up.
    pub setup_concurrency: usize,
    /// Sockets connecting at once.
    pub connect_concurrency: usize,
    /// Tokio worker threads of the load tester (the server may share the cores).
    pub threads: usize,
    /// The routing objects the run uses (created when missing, reused otherwise).
    pub routing: Routing,
    /// Simulated agents.
    pub agents: Agents,
    /// Simulated customers.
    pub customers: Customers,
    /// Simulated supervisors.
    pub supervisors: Supervisors,
    /// Step-up mode.
    pub step_up: StepUp,
}

/// Where tasks go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    /// The workspace, by friendly name (the Flex workspace every account starts with).
    pub workspace: String,
    /// Queue and workflow friendly name (created in that workspace).
    pub queue: String,
    /// How long an offer waits for an answer before it times out.
    #[serde(with = "humantime_serde")]
    pub reservation_timeout: Duration,
    /// The `chat` address customers start webchats on.
    pub chat_address: String,
    /// The SMS number customers text through the simulator provider.
    pub sms_number: String,
}

/// Agents' behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Agents {
    /// How many (workers `load-agent-0` …).
    pub count: usize,
    /// Chats each may hold at once (the chat and SMS channels' capacity).
    pub capacity: u32,
    /// Time before answering an offer.
    #[serde(with = "humantime_serde")]
    pub think_time: Duration,
    /// Share of offers rejected.
    pub reject_ratio: f64,
    /// Share of offers left to time out (the worker then goes offline and comes back).
    pub timeout_ratio: f64,
    /// Time from a customer's message to the agent's reply (typing is signalled first).
    #[serde(with = "humantime_serde")]
    pub reply_delay: Duration,
    /// Share of customer messages the agent replies to.
    pub reply_ratio: f64,
    /// Time in wrap-up before completing the task.
    #[serde(with = "humantime_serde")]
    pub wrapup_time: Duration,
    /// Sign in with a password (`/switchboard/v1/SignIn`, logins `load-agent-N` made for the
    /// run) instead of using tokens minted with the run's API key, as a backend would. Each
    /// sign-in costs the server an argon2 verification; its tokens last an hour.
    pub sign_in: bool,
}

/// Customers' behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Customers {
    /// Customers chatting at once, once ramped up (each one who leaves is replaced).
    pub concurrent: usize,
    /// At most this many new customers per second.
    pub arrival_rate: f64,
    /// Share who text over SMS (through the simulator provider) instead of webchat.
    pub sms_ratio: f64,
    /// Messages each writes after the agent joined; then the chat ends.
    pub messages: u32,
    /// Time between two of a customer's messages.
    #[serde(with = "humantime_serde")]
    pub message_interval: Duration,
    /// Signal typing before each message.
    pub typing: bool,
    /// Share of messages that carry an attachment (webchat).
    pub attachment_ratio: f64,
    /// Size of each attachment.
    pub attachment_bytes: usize,
    /// Bytes of each message body (after the stamp).
    pub body_bytes: usize,
    /// How long a customer waits for an agent before leaving.
    #[serde(with = "humantime_serde")]
    pub patience: Duration,
}

/// Supervisors' behaviour.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Supervisors {
    /// How many.
    pub count: usize,
    /// Conversations each monitors at once.
    pub per_supervisor: usize,
}

/// Raise the load until p99 crosses a limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StepUp {
    /// Step-up instead of one fixed load.
    pub enabled: bool,
    /// Concurrent customers in the first stage.
    pub start: usize,
    /// Customers added per stage.
    pub step: usize,
    /// Length of each stage (measured after the population reached its target).
    #[serde(with = "humantime_serde")]
    pub stage: Duration,
    /// The p99 send → receive latency a stage must stay under.
    #[serde(with = "humantime_serde")]
    pub p99_limit: Duration,
    /// Stop after this many stages even if every one held.
    pub max_stages: usize,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "default".into(),
            duration: Duration::from_secs(30),
            ramp_up: Duration::from_secs(5),
            drain: Duration::from_secs(15),
            setup_concurrency: 32,
            connect_concurrency: 64,
            threads: 1,
            routing: Routing::default(),
            agents: Agents::default(),
            customers: Customers::default(),
            supervisors: Supervisors::default(),
            step_up: StepUp::default(),
        }
    }
}

impl Default for Routing {
    fn default() -> Self {
        Routing {
            workspace: "Flex Task Assignment".into(),
            queue: "Switchboard load".into(),
            reservation_timeout: Duration::from_secs(5),
            chat_address: "switchboard-load".into(),
            sms_number: "+15550009999".into(),
        }
    }
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            count: 20,
            capacity: 5,
            think_time: Duration::from_millis(500),
            reject_ratio: 0.05,
            timeout_ratio: 0.0,
            reply_delay: Duration::from_millis(500),
            reply_ratio: 1.0,
            wrapup_time: Duration::from_millis(500),
            sign_in: false,
        }
    }
}

impl Default for Customers {
    fn default() -> Self {
        Customers {
            concurrent: 50,
            arrival_rate: 20.0,
            sms_ratio: 0.2,
            messages: 5,
            message_interval: Duration::from_secs(5),
            typing: true,
            attachment_ratio: 0.05,
            attachment_bytes: 4096,
            body_bytes: 48,
            patience: Duration::from_secs(120),
        }
    }
}

impl Default for Supervisors {
    fn default() -> Self {
        Supervisors {
            count: 1,
            per_supervisor: 100,
        }
    }
}

impl Default for StepUp {
    fn default() -> Self {
        StepUp {
            enabled: false,
            start: 100,
            step: 100,
            stage: Duration::from_secs(20),
            p99_limit: Duration::from_millis(100),
            max_stages: 20,
        }
    }
}

impl Scenario {
    /// Reads a scenario file (TOML).
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the scenario {}", path.display()))?;
        toml_de(&text).with_context(|| format!("scenario {}", path.display()))
    }

    /// Sockets the run opens at most (agents, supervisors, webchat customers).
    pub fn max_sockets(&self) -> usize {
        self.agents.count + self.supervisors.count + self.max_customers()
    }

    /// The largest customer population the run aims at.
    pub fn max_customers(&self) -> usize {
        if self.step_up.enabled {
            self.step_up.start + self.step_up.step * self.step_up.max_stages.saturating_sub(1)
        } else {
            self.customers.concurrent
        }
    }

    /// Refuses a scenario that cannot run or would not stop.
    pub fn check(&self) -> anyhow::Result<()> {
        let ratio = |name: &str, v: f64| {
            ensure!(
                (0.0..=1.0).contains(&v),
                "{name} must be between 0 and 1, not {v}"
            );
            Ok(())
        };
        ratio("agents.reject_ratio", self.agents.reject_ratio)?;
        ratio("agents.timeout_ratio", self.agents.timeout_ratio)?;
        ratio("agents.reply_ratio", self.agents.reply_ratio)?;
        ratio("customers.sms_ratio", self.customers.sms_ratio)?;
        ratio(
            "customers.attachment_ratio",
            self.customers.attachment_ratio,
        )?;
        ensure!(
            self.agents.reject_ratio + self.agents.timeout_ratio < 1.0,
            "agents.reject_ratio + agents.timeout_ratio must leave some offers accepted"
        );
        ensure!(self.agents.count >= 1, "agents.count must be at least 1");
        ensure!(
            (1..=50).contains(&self.agents.capacity),
            "agents.capacity must be 1–50"
        );
        ensure!(
            self.customers.arrival_rate > 0.0 && self.customers.arrival_rate.is_finite(),
            "customers.arrival_rate must be positive"
        );
        ensure!(
            self.customers.messages >= 1,
            "customers.messages must be at least 1"
        );
        ensure!(
            !self.customers.message_interval.is_zero(),
            "customers.message_interval must be positive"
        );
        ensure!(
            self.customers.attachment_bytes >= 1 && self.customers.attachment_bytes <= 5 << 20,
            "customers.attachment_bytes must be 1 B – 5 MiB"
        );
        ensure!(
            self.customers.body_bytes <= 1500,
            "customers.body_bytes must be at most 1500"
        );
        ensure!(
            self.supervisors.count == 0 || self.supervisors.per_supervisor >= 1,
            "supervisors.per_supervisor must be at least 1"
        );
        ensure!(
            self.setup_concurrency >= 1 && self.connect_concurrency >= 1 && self.threads >= 1,
            "setup_concurrency, connect_concurrency and threads must be at least 1"
        );
        let hour = Duration::from_secs(3600);
        if self.step_up.enabled {
            let s = &self.step_up;
            ensure!(
                s.start >= 1 && s.step >= 1,
                "step_up.start and step_up.step must be at least 1"
            );
            ensure!(
                (1..=100).contains(&s.max_stages),
                "step_up.max_stages must be 1–100"
            );
            ensure!(
                !s.stage.is_zero() && s.stage * s.max_stages as u32 <= 4 * hour,
                "step_up.stage × max_stages must be positive and at most 4 h"
            );
            ensure!(!s.p99_limit.is_zero(), "step_up.p99_limit must be positive");
        } else {
            ensure!(
                self.customers.concurrent >= 1,
                "customers.concurrent must be at least 1"
            );
            ensure!(
                !self.duration.is_zero() && self.duration <= 4 * hour,
                "duration must be positive and at most 4 h"
            );
        }
        ensure!(self.drain <= hour, "drain must be at most 1 h");
        ensure!(
            self.drain > self.customers.message_interval,
            "drain must be longer than customers.message_interval: at the end each customer \
             writes its last message at its usual time"
        );
        let longest = if self.step_up.enabled {
            self.step_up.stage * self.step_up.max_stages as u32
        } else {
            self.duration
        };
        ensure!(
            !self.agents.sign_in || longest + self.drain < Duration::from_secs(55 * 60),
            "agents.sign_in: sign-in tokens last an hour, so such a run must end within 55 minutes"
        );
        Ok(())
    }
}

/// TOML → scenario, with the key path in the error.
fn toml_de(text: &str) -> anyhow::Result<Scenario> {
    use figment::Figment;
    use figment::providers::{Format, Toml};
    Figment::from(figment::providers::Serialized::defaults(Scenario::default()))
        .merge(Toml::string(text))
        .extract()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_optional_and_unknown_keys_are_refused() {
        let s = toml_de("").expect("empty");
        assert_eq!(s.agents.count, Agents::default().count);
        let s = toml_de("name = \"x\"\n[agents]\ncount = 3\nthink_time = \"2s\"\n").expect("ok");
        assert_eq!((s.name.as_str(), s.agents.count), ("x", 3));
        assert_eq!(s.agents.think_time, Duration::from_secs(2));
        let err = toml_de("[agents]\ncuont = 3\n").expect_err("typo");
        assert!(err.to_string().contains("cuont"), "{err}");
    }

    #[test]
    fn meaningless_or_unbounded_scenarios_are_refused() {
        let mut s = Scenario::default();
        s.check().expect("defaults run");
        s.agents.reject_ratio = 0.6;
        s.agents.timeout_ratio = 0.4;
        assert!(s.check().is_err());
        let s = Scenario {
            duration: Duration::from_secs(5 * 3600),
            ..Scenario::default()
        };
        assert!(s.check().is_err());
        let mut s = Scenario::default();
        s.step_up.enabled = true;
        s.step_up.max_stages = 0;
        assert!(s.check().is_err());
        // The last messages come at their usual times: the drain must wait one interval.
        let s = Scenario {
            drain: Duration::from_secs(5),
            ..Scenario::default()
        };
        assert!(s.check().is_err());
    }

    #[test]
    fn the_shipped_scenarios_parse_and_check() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/load");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("config/load") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let s = Scenario::load(&path).expect("parses");
                s.check()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2, "config/load has the shipped scenarios");
    }
}
