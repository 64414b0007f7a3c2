//! Step-up mode: the customer population rises stage by stage (`start`, `start + step`, …).
//! Each stage first reaches its population and lets one message interval pass, then is
//! measured on its own for `stage`: p99 send → receive over every delivery in it, contact →
//! offer, throughput, integrity. The first stage whose p99 crosses the limit, or that loses
//! or disorders anything, ends the run; the last stage that held is the capacity found, with
//! the server's memory per connection there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::procfs::Sampler;
use super::report::{Stage, StepUp};
use super::{Arrivals, Received, Run, Ticker};

/// Runs the stages; returns what each showed and the capacity.
pub async fn drive(
    run: &Arc<Run>,
    customers: &mut JoinSet<Vec<Received>>,
    ticker: &mut Ticker,
    mut sampler: Option<&mut Sampler>,
    rss_before: Option<u64>,
) -> StepUp {
    let s = &run.scenario.step_up;
    let rate = run.scenario.customers.arrival_rate;
    let limit_ms = s.p99_limit.as_secs_f64() * 1000.0;
    let mut arrivals = Arrivals::new(run);
    let mut report = StepUp {
        p99_limit_ms: limit_ms,
        ..StepUp::default()
    };
    for k in 0..s.max_stages {
        let target = (s.start + k * s.step) as u64;
        let reach_by = Instant::now()
            + Duration::from_secs_f64(target as f64 / rate)
            + Duration::from_secs(30);
        let phase = |until: Instant,
                     arrivals: &mut Arrivals,
                     customers: &mut JoinSet<Vec<Received>>,
                     ticker: &mut Ticker,
                     sampler: &mut Option<&mut Sampler>| {
            arrivals.admit(customers, target);
            ticker.tick(sampler.as_deref_mut());
            Instant::now() < until
        };
        while run.metrics.live().0 < target
            && phase(reach_by, &mut arrivals, customers, ticker, &mut sampler)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let settle = Instant::now() + run.scenario.customers.message_interval;
        while phase(settle, &mut arrivals, customers, ticker, &mut sampler) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        run.metrics.stage_reset();
        let problems_before = run.metrics.problems();
        let started = Instant::now();
        let end = started + s.stage;
        while phase(end, &mut arrivals, customers, ticker, &mut sampler) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let (p99, offer_p99, acked, deliveries) = run.metrics.stage_figures();
        let problems = run.metrics.problems() - problems_before;
        let (conversations, sockets) = run.metrics.live();
        let rss = sampler.as_deref().and_then(Sampler::rss);
        let held = p99 <= limit_ms && problems == 0 && deliveries > 0;
        report.stages.push(Stage {
            target_conversations: target,
            conversations,
            sockets,
            messages_per_s: acked as f64 / secs,
            deliveries_per_s: deliveries as f64 / secs,
            p99_ms: p99,
            offer_p99_ms: offer_p99,
            integrity_problems: problems,
            server_rss_bytes: rss,
            held,
        });
        if !held {
            break;
        }
        report.capacity_conversations = Some(conversations);
        report.capacity_sockets = Some(sockets);
        report.bytes_per_connection = match (rss, rss_before) {
            (Some(now), Some(before)) => now.saturating_sub(before).checked_div(sockets),
            _ => None,
        };
    }
    report
}
