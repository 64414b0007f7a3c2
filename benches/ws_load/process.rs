//! The server process under test and what `/proc` says about it: spawning it (killed on drop),
//! waiting for the line that tells its address, its resident memory, its CPU time, and the
//! limits of this process (open files, ephemeral ports) a run of many sockets needs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// A spawned server; killed when dropped (also on error paths and panics).
pub struct ServerProcess {
    child: Child,
    /// The address it printed.
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `cmd` (stdout piped, stderr inherited) and waits up to 60 s for a stdout line that
/// starts with `prefix` and continues with the listening address; stdout is drained afterwards.
pub fn spawn(mut cmd: Command, prefix: &'static str) -> anyhow::Result<ServerProcess> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let stdout = child.stdout.take().context("server stdout")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    // Owned from here on, so an early return kills the child.
    let mut server = ServerProcess {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            bail!("server did not print `{prefix}ADDR` within 60 s");
        };
        if let Some(rest) = line.strip_prefix(prefix) {
            let rest = rest.trim().trim_end_matches('/');
            server.addr = rest
                .parse()
                .with_context(|| format!("address in {line:?}"))?;
            ensure!(
                server.addr.ip().is_loopback(),
                "server listens on {}, not on loopback",
                server.addr
            );
            return Ok(server);
        }
    }
}

pub use switchboard::load::procfs::{check_limits, cpu_ns, rss_bytes};
