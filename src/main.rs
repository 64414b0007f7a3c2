//! The `switchboard` command: parses the CLI, loads configuration, starts logging and runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use switchboard::commands::token::{self, TokenRequest};
use switchboard::commands::user;
use switchboard::config::Settings;
use switchboard::gateway::token::Role;
use switchboard::startup::Application;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Contact-center conversations engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (embedded SQLite store by default; no configuration needed).
    Serve {
        /// TOML configuration file (see config/default.toml for every key).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Data directory [default: ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Seed demo agents (alice, bob), a supervisor (sam) and an SMS number, to try it at once.
        #[arg(long)]
        demo: bool,
    },
    /// Mint a development access token (Twilio format) for the WebSocket gateway.
    Token {
        /// The identity the token speaks for.
        #[arg(long)]
        identity: String,
        /// agent, supervisor or guest.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Lifetime, e.g. 30m, 1h (at most 24h).
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
        /// Account (default: SWITCHBOARD_ACCOUNT_SID, else the only top-level account).
        #[arg(long)]
        account: Option<String>,
        /// TaskRouter workspace (WS…) for the `task_router` grant (routing over the socket).
        #[arg(long)]
        workspace: Option<String>,
        /// TaskRouter worker (WK…) the agent acts as (receives its reservation offers).
        #[arg(long)]
        worker: Option<String>,
        /// TOML configuration file (for the data directory and store settings).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory [default: ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run a simulated contact center (agents, customers, supervisors) against a server.
    Load(Box<switchboard::load::cli::LoadArgs>),
    /// Manage who signs in on the server's pages (agents and supervisors).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a login. The password comes from stdin (`--password-stdin`) or SWITCHBOARD_PASSWORD.
    Add {
        /// What they type to sign in.
        #[arg(long)]
        username: String,
        /// agent or supervisor.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Chat identity their tokens carry [default: the username].
        #[arg(long)]
        identity: Option<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// TaskRouter workspace (WS…) of their worker.
        #[arg(long)]
        workspace: Option<String>,
        /// TaskRouter worker (WK…) they are.
        #[arg(long)]
        worker: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Account (default: SWITCHBOARD_ACCOUNT_SID, else the only top-level account).
        #[arg(long)]
        account: Option<String>,
        /// TOML configuration file (for the data directory and store settings).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Data directory [default: ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[allow(clippy::print_stdout)] // The CLI's own output.
fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            demo,
        } => {
            let mut settings = Settings::load(config.as_deref())?;
            settings.server.demo |= demo;
            if let Some(listen) = listen {
                settings.server.listen = listen;
            }
            if let Some(dir) = data_dir {
                settings.server.data_dir = dir;
            }
            switchboard::telemetry::init(&settings.log);
            let settings_demo = settings.server.demo;
            actix_web::rt::System::new().block_on(async move {
                let app = Application::build(settings).await?;
                if let Some(creds) = &app.new_credentials {
                    println!(
                        "Created account {} with auth token {}",
                        creds.account_sid, creds.auth_token
                    );
                    println!(
                        "(shown once; saved to {} with mode 0600)",
                        creds.saved_to.display()
                    );
                }
                if settings_demo {
                    let at = app.local_addr();
                    println!(
                        "Demo: sign in at http://{at}/login as alice or bob (agents) or sam (supervisor), password {}; text {} from http://{at}/simulator",
                        switchboard::demo::PASSWORD,
                        switchboard::demo::SMS_NUMBER
                    );
                }
                println!("switchboard listening on http://{}", app.local_addr());
                app.run_until_stopped().await?;
                Ok(())
            })
        }
        Command::Token {
            identity,
            role,
            ttl,
            account,
            workspace,
            worker,
            config,
            data_dir,
        } => {
            let mut settings = Settings::load(config.as_deref())?;
            if let Some(dir) = data_dir {
                settings.server.data_dir = dir;
            }
            settings.log.level = "warn".into();
            switchboard::telemetry::init(&settings.log);
            let role = match role.as_str() {
                "agent" => Role::Agent,
                "supervisor" => Role::Supervisor,
                "guest" => Role::Guest,
                other => anyhow::bail!("--role must be agent, supervisor or guest, not {other:?}"),
            };
            let account = match account {
                Some(a) => Some(a.parse().map_err(|e| anyhow::anyhow!("--account: {e}"))?),
                None => None,
            };
            let ttl_secs = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
            let request = TokenRequest {
                identity,
                role,
                ttl_secs,
                account,
                workspace,
                worker,
            };
            let token = actix_web::rt::System::new().block_on(token::run(&settings, request))?;
            println!("{token}");
            Ok(())
        }
        Command::Load(args) => {
            let mut settings = Settings::load(None)?;
            settings.log.level = "warn".into();
            switchboard::telemetry::init(&settings.log);
            if !switchboard::load::cli::main(*args)? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::User {
            action:
                UserAction::Add {
                    username,
                    role,
                    identity,
                    name,
                    workspace,
                    worker,
                    password_stdin,
                    account,
                    config,
                    data_dir,
                },
        } => {
            let mut settings = Settings::load(config.as_deref())?;
            if let Some(dir) = data_dir {
                settings.server.data_dir = dir;
            }
            settings.log.level = "warn".into();
            switchboard::telemetry::init(&settings.log);
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                std::env::var(user::PASSWORD_ENV).map_err(|_| {
                    anyhow::anyhow!("give the password on stdin with --password-stdin, or in SWITCHBOARD_PASSWORD")
                })?
            };
            let account = match account {
                Some(a) => Some(a.parse().map_err(|e| anyhow::anyhow!("--account: {e}"))?),
                None => None,
            };
            let new = user::NewLogin {
                username,
                password,
                role,
                identity,
                friendly_name: name,
                account,
                workspace,
                worker,
            };
            let sid = actix_web::rt::System::new().block_on(user::add(&settings, new))?;
            println!("{sid}");
            Ok(())
        }
    }
}
