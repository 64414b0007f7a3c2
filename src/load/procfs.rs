//! What `/proc` says about a process under load (its resident memory and CPU time) and the
//! limits of this one that a run of many sockets needs (open files, ephemeral ports). Linux
//! only; elsewhere the figures are absent and the limits unchecked.

use anyhow::{Context as _, ensure};

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

/// Fails with instructions unless this process may open `sockets` more files and the kernel
/// has enough ephemeral ports for them to one server port.
pub fn check_limits(sockets: usize) -> anyhow::Result<()> {
    // Room for the runtime, the HTTP connections, a server's database and listener.
    const SPARE: u64 = 64;
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return Ok(());
    };
    let soft: Option<u64> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok());
    if let Some(soft) = soft {
        let need = sockets as u64 + SPARE;
        ensure!(
            soft >= need,
            "this run opens up to {sockets} WebSockets, which needs at least {need} open files \
             per process, but the soft limit is {soft}. Raise it in the shell first, e.g. \
             `ulimit -n 20000`"
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

/// Samples one process's CPU and memory once a second.
#[derive(Debug)]
pub struct Sampler {
    pid: String,
    last_cpu_ns: u64,
    last_at: std::time::Instant,
    first_cpu_ns: u64,
    first_at: std::time::Instant,
    /// Highest RSS seen.
    pub rss_peak: u64,
}

impl Sampler {
    /// Starts sampling `pid`; fails when there is no such process.
    pub fn new(pid: u32) -> anyhow::Result<Sampler> {
        let pid = pid.to_string();
        let rss = rss_bytes(&pid).with_context(|| format!("no process {pid} in /proc"))?;
        let cpu = cpu_ns(&pid).0;
        let now = std::time::Instant::now();
        Ok(Sampler {
            pid,
            last_cpu_ns: cpu,
            last_at: now,
            first_cpu_ns: cpu,
            first_at: now,
            rss_peak: rss,
        })
    }

    /// Cores on a CPU since the last sample, and the RSS now.
    pub fn sample(&mut self) -> (Option<f64>, Option<u64>) {
        let cpu = cpu_ns(&self.pid).0;
        let now = std::time::Instant::now();
        let secs = now.duration_since(self.last_at).as_secs_f64();
        let cores = (secs > 0.0).then(|| cpu.saturating_sub(self.last_cpu_ns) as f64 / 1e9 / secs);
        self.last_cpu_ns = cpu;
        self.last_at = now;
        let rss = rss_bytes(&self.pid);
        if let Some(r) = rss {
            self.rss_peak = self.rss_peak.max(r);
        }
        (cores, rss)
    }

    /// Restarts the average (at the start of the traffic).
    pub fn restart_average(&mut self) {
        self.first_cpu_ns = cpu_ns(&self.pid).0;
        self.first_at = std::time::Instant::now();
    }

    /// Average cores on a CPU since `restart_average`.
    pub fn average_cores(&self) -> f64 {
        let secs = self.first_at.elapsed().as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        cpu_ns(&self.pid).0.saturating_sub(self.first_cpu_ns) as f64 / 1e9 / secs
    }

    /// The RSS now.
    pub fn rss(&self) -> Option<u64> {
        rss_bytes(&self.pid)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_memory_and_cpu_time() {
        assert!(super::rss_bytes("self").is_some_and(|r| r > 0));
        let mut s = super::Sampler::new(std::process::id()).expect("self");
        let (_, rss) = s.sample();
        assert!(rss.is_some_and(|r| r > 0));
        assert!(super::check_limits(1).is_ok());
    }
}
