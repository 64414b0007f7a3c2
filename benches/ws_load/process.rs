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

/// `VmRSS` of `pid` (`self` for this process) in bytes.
pub fn rss_bytes(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Nanoseconds all threads of `pid` spent on a CPU and runnable but waiting for one
/// (`/proc/PID/task/*/schedstat`).
pub fn cpu_ns(pid: &str) -> (u64, u64) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (0, 0);
    };
    let mut total = (0, 0);
    for task in tasks.flatten() {
        let sched = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let mut fields = sched
            .split_whitespace()
            .map(|f| f.parse::<u64>().unwrap_or(0));
        total.0 += fields.next().unwrap_or(0);
        total.1 += fields.next().unwrap_or(0);
    }
    total
}

/// Fails with instructions unless this process may open `sockets` more files (the server,
/// spawned from here, inherits the same limit) and the kernel has enough ephemeral ports.
pub fn check_limits(sockets: usize) -> anyhow::Result<()> {
    // Room for the runtime, the HTTP set-up connections, the server's database and listener.
    const SPARE: u64 = 64;
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("reading /proc/self/limits")?;
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok());
    if let Some(soft) = soft {
        let need = sockets as u64 + SPARE;
        ensure!(
            soft >= need,
            "this run opens {sockets} WebSockets, which needs at least {need} open files per \
             process, but the soft limit is {soft}. Raise it in the shell that runs cargo, e.g. \
             `ulimit -n 20000; cargo bench --bench …` (this machine allows 20,000 at most, \
             enough for 9,900 conversations + 10 supervisors)"
        );
    }
    if let Ok(range) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") {
        let mut it = range
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        let (lo, hi) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        ensure!(
            hi.saturating_sub(lo) + 1 >= sockets as u64 + SPARE,
            "{sockets} sockets to one server port need as many ephemeral ports, but \
             net.ipv4.ip_local_port_range is {lo}–{hi}"
        );
    }
    Ok(())
}
