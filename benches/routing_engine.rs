//! Benchmark: the pure routing engine of one workspace, in-process (no actor, no store, no
//! HTTP): how many tasks per second it routes, and how long one routing decision takes.
//!
//! Workload (deterministic, seeded):
//! * 5,000 workers, all `Available`, each with 3 of 50 skills in Flex style
//!   (`{"routing":{"skills":[…],"levels":{…}}, …}`) and a `chat` capacity of 2–5;
//! * 50 queues, queue N with `TargetWorkers` `routing.skills HAS 'skillN'` (~300 members each);
//! * one workflow with 50 filters, filter N `type == 'skillN'` → queue N (a task for skill 49
//!   evaluates all 50 filters), default filter → queue 0;
//! * tasks on `chat` with `{"type":"skillK", …}`, K uniform.
//!
//! Steady state: a pool of `INFLIGHT` accepted tasks (default 5,000 of ~17,500 seats) is kept;
//! each new task is created (→ the engine reserves a worker: the offer), its reservation is
//! accepted, and the oldest in-flight task is completed, so capacity frees at the rate it is
//! taken. After every engine call the bench calls `take_changes()`, as the `RouterActor` does.
//!
//! Measured:
//! * criterion `create_to_offer`: `create_task` + `take_changes` until the reservation exists
//!   (accept/complete of the pool run untimed);
//! * criterion `full_cycle`: create → accept → complete of one task;
//! * a custom loop (`ROUTING_BENCH_TASKS` tasks, default 20,000) that times every
//!   `create_task` with `Instant` into an HDR histogram, and the whole per-task cycle, and
//!   prints throughput and percentiles per window of 5,000 tasks, twice: with completed tasks
//!   kept in the engine (what the server does today) and with them deleted after completion.
//!
//! Run: `cargo bench --bench routing_engine -- --warm-up-time 1 --measurement-time 5`
//! Environment: `ROUTING_BENCH_TASKS`, `ROUTING_BENCH_INFLIGHT`, `ROUTING_BENCH_WORKERS`,
//! `ROUTING_BENCH_QUEUES`. Without `--bench` (e.g. `cargo test --benches`) everything runs
//! once at a tiny size. See docs/benchmarks.md ("Routing engine (in-process)").

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hdrhistogram::Histogram;
use serde_json::json;
use switchboard::ids::{ReservationSid, TaskSid, WorkflowSid};
use switchboard::routing::engine::ops::{QueueSpec, WorkflowSpec, WorkspaceSpec};
use switchboard::routing::engine::{DocKey, Engine, TaskCreate};
use switchboard::routing::model::{Millis, ReservationStatus};

const T0: Millis = 1_700_000_000_000;
const SKILLS_PER_WORKER: usize = 3;
const WINDOW: usize = 5_000;

/// Sizes of one run.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    workers: usize,
    queues: usize,
    inflight: usize,
    tasks: usize,
}

impl Sizes {
    fn from_env(full: bool) -> Sizes {
        let var = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        if full {
            Sizes {
                workers: var("ROUTING_BENCH_WORKERS", 5_000),
                queues: var("ROUTING_BENCH_QUEUES", 50),
                inflight: var("ROUTING_BENCH_INFLIGHT", 5_000),
                tasks: var("ROUTING_BENCH_TASKS", 20_000),
            }
        } else {
            Sizes {
                workers: 100,
                queues: 5,
                inflight: 50,
                tasks: 200,
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), so every run routes the same tasks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The engine with its workload, and the steady-state pool.
struct Bench {
    engine: Engine,
    workflow: WorkflowSid,
    rng: Rng,
    queues: usize,
    now: Millis,
    /// Accepted tasks with their accepted reservation, oldest first.
    inflight: VecDeque<(TaskSid, ReservationSid)>,
    /// Pending reservations seen in changes but not yet accepted (tasks that had to wait).
    offers: VecDeque<ReservationSid>,
    /// Tasks created with no reservation on the spot.
    not_offered: u64,
    delete_completed: bool,
}

impl Bench {
    fn new(sizes: Sizes, delete_completed: bool) -> Bench {
        let mut engine = Engine::new_workspace(
            "AC0123456789abcdef0123456789abcdef".parse().expect("sid"),
            "Bench".into(),
            WorkspaceSpec::default(),
            T0,
        );
        let available = engine.activity_named("Available").expect("Available");
        let queues: Vec<_> = (0..sizes.queues)
            .map(|n| {
                engine
                    .create_queue(
                        QueueSpec {
                            friendly_name: Some(format!("Skill {n}")),
                            target_workers: Some(format!("routing.skills HAS 'skill{n}'")),
                            ..Default::default()
                        },
                        T0,
                    )
                    .expect("queue")
            })
            .collect();
        let filters: Vec<_> = queues
            .iter()
            .enumerate()
            .map(|(n, q)| {
                json!({"filter_friendly_name": format!("skill {n}"),
                       "expression": format!("type == 'skill{n}'"),
                       "targets": [{"queue": q}]})
            })
            .collect();
        let config =
            json!({"task_routing": {"filters": filters, "default_filter": {"queue": queues[0]}}});
        let workflow = engine
            .create_workflow(
                WorkflowSpec {
                    friendly_name: Some("Skills".into()),
                    configuration: Some(config.to_string()),
                    ..Default::default()
                },
                T0,
            )
            .expect("workflow");
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for i in 0..sizes.workers {
            // Worker i always has skill i % queues, so no queue is empty; two more at random.
            let mut skills = vec![i % sizes.queues];
            while skills.len() < SKILLS_PER_WORKER.min(sizes.queues) {
                let s = rng.below(sizes.queues);
                if !skills.contains(&s) {
                    skills.push(s);
                }
            }
            let names: Vec<String> = skills.iter().map(|s| format!("skill{s}")).collect();
            let levels: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .map(|n| (n.clone(), json!(1 + rng.below(5))))
                .collect();
            let attrs = json!({
                "routing": {"skills": names, "levels": levels},
                "contact_uri": format!("client:agent{i}"),
                "full_name": format!("Agent {i}"),
                "roles": ["agent"],
            });
            let sid = engine
                .create_worker(
                    format!("agent{i}"),
                    Some(available.clone()),
                    Some(attrs.to_string()),
                    T0,
                )
                .expect("worker");
            let capacity = 2 + (i % 4) as u32;
            engine
                .update_worker_channel(&sid, "chat", Some(capacity), None, T0)
                .expect("capacity");
        }
        engine.take_changes();
        let mut bench = Bench {
            engine,
            workflow,
            rng,
            queues: sizes.queues,
            now: T0 + 1,
            inflight: VecDeque::new(),
            offers: VecDeque::new(),
            not_offered: 0,
            delete_completed,
        };
        // Fill the pool to the steady level.
        while bench.inflight.len() < sizes.inflight {
            bench.create();
            bench.accept_offers();
        }
        bench
    }

    fn tick(&mut self) -> Millis {
        self.now += 1;
        self.now
    }

    /// Picks up the reservations an operation created (the actor would push them to workers).
    fn collect(&mut self) -> usize {
        let changes = self.engine.take_changes();
        let mut created = 0;
        for key in changes.dirty {
            if let DocKey::Reservation(r) = key
                && self
                    .engine
                    .reservations
                    .get(&r)
                    .is_some_and(|r| r.status == ReservationStatus::Pending)
                && !self.offers.contains(&r)
            {
                self.offers.push_back(r);
                created += 1;
            }
        }
        created
    }

    fn task_request(&mut self) -> TaskCreate {
        let skill = self.rng.below(self.queues);
        let customer = self.rng.next() % 1_000_000;
        TaskCreate {
            attributes: Some(
                json!({"type": format!("skill{skill}"), "channelType": "web",
                       "customer": format!("customer{customer}"), "conversationSid": "CH0"})
                .to_string(),
            ),
            workflow_sid: Some(self.workflow.clone()),
            task_channel: Some("chat".into()),
            ..Default::default()
        }
    }

    /// Creates one task and collects its offer. True when it was offered at once.
    fn create(&mut self) -> bool {
        let req = self.task_request();
        let now = self.tick();
        black_box(self.engine.create_task(req, now).expect("task"));
        let offered = self.collect() > 0;
        if !offered {
            self.not_offered += 1;
        }
        offered
    }

    /// Accepts every outstanding offer (the workers answer).
    fn accept_offers(&mut self) {
        while let Some(r) = self.offers.pop_front() {
            let Some(task) = self.engine.reservations.get(&r).map(|r| r.task_sid.clone()) else {
                continue;
            };
            let now = self.tick();
            self.engine
                .answer_reservation(&r, ReservationStatus::Accepted, None, now)
                .expect("accept");
            self.inflight.push_back((task, r));
            self.collect();
        }
    }

    /// Completes the oldest in-flight task (its worker's seat frees; waiting tasks may be
    /// offered).
    fn complete_oldest(&mut self) {
        let Some((task, r)) = self.inflight.pop_front() else {
            return;
        };
        let now = self.tick();
        self.engine
            .answer_reservation(&r, ReservationStatus::Completed, None, now)
            .expect("complete");
        self.collect();
        if self.delete_completed {
            let now = self.tick();
            self.engine.delete_task(&task, now).expect("delete");
            self.collect();
        }
    }

    /// Keeps the pool steady after one task was added.
    fn settle(&mut self) {
        self.accept_offers();
        self.complete_oldest();
        self.accept_offers();
    }
}

fn criterion_benches(c: &mut Criterion, sizes: Sizes) {
    let mut group = c.benchmark_group("routing_engine");
    group.throughput(Throughput::Elements(1));

    let mut bench = Bench::new(sizes, false);
    group.bench_function("create_to_offer", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                bench.create();
                timed += started.elapsed();
                bench.settle();
            }
            timed
        })
    });
    eprintln!(
        "create_to_offer: {} tasks in the engine at the end, {} created without an immediate offer",
        bench.engine.tasks.len(),
        bench.not_offered
    );
    drop(bench);

    let mut bench = Bench::new(sizes, false);
    group.bench_function("full_cycle", |b| {
        b.iter(|| {
            bench.create();
            bench.settle();
        })
    });
    eprintln!(
        "full_cycle: {} tasks in the engine at the end, {} created without an immediate offer",
        bench.engine.tasks.len(),
        bench.not_offered
    );
    group.finish();
}

fn micros(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram")
}

fn line(
    label: &str,
    tasks: usize,
    wall: Duration,
    create: &Histogram<u64>,
    cycle: &Histogram<u64>,
) {
    println!(
        "{label:<16} {tasks:>7} {:>10.0} {:>10.0} | create→offer µs p50 {:>7.1} p90 {:>7.1} p99 {:>7.1} p99.9 {:>7.1} max {:>8.1} | cycle µs p50 {:>7.1} p99 {:>7.1} max {:>8.1}",
        tasks as f64 / (create.mean() * create.len() as f64 / 1e9),
        tasks as f64 / wall.as_secs_f64(),
        micros(create, 0.5),
        micros(create, 0.9),
        micros(create, 0.99),
        micros(create, 0.999),
        create.max() as f64 / 1_000.0,
        micros(cycle, 0.5),
        micros(cycle, 0.99),
        cycle.max() as f64 / 1_000.0,
    );
}

/// The custom loop: every `create_task` timed on its own, plus the whole per-task cycle.
fn custom_loop(sizes: Sizes, delete_completed: bool) {
    let setup = Instant::now();
    let mut bench = Bench::new(sizes, delete_completed);
    println!(
        "\n[{}] setup: {} workers, {} queues, {} in flight, built in {:.1} s",
        if delete_completed {
            "completed tasks deleted"
        } else {
            "completed tasks kept"
        },
        sizes.workers,
        sizes.queues,
        bench.inflight.len(),
        setup.elapsed().as_secs_f64()
    );
    println!(
        "{:<16} {:>7} {:>10} {:>10} |",
        "window", "tasks", "offers/s", "cycles/s"
    );
    let mut all_create = new_histogram();
    let mut all_cycle = new_histogram();
    let mut create = new_histogram();
    let mut cycle = new_histogram();
    let started = Instant::now();
    let mut window_started = started;
    let mut offered_at_once = 0usize;
    for i in 1..=sizes.tasks {
        let t0 = Instant::now();
        if bench.create() {
            offered_at_once += 1;
        }
        let t1 = Instant::now();
        bench.settle();
        let t2 = Instant::now();
        let c = (t1 - t0).as_nanos() as u64;
        let y = (t2 - t0).as_nanos() as u64;
        create.record(c.max(1)).expect("record");
        cycle.record(y.max(1)).expect("record");
        if i % WINDOW == 0 || i == sizes.tasks {
            let n = create.len() as usize;
            line(
                &format!("tasks ..{i}"),
                n,
                window_started.elapsed(),
                &create,
                &cycle,
            );
            all_create.add(&create).expect("add");
            all_cycle.add(&cycle).expect("add");
            create.reset();
            cycle.reset();
            window_started = Instant::now();
        }
    }
    line(
        "all",
        sizes.tasks,
        started.elapsed(),
        &all_create,
        &all_cycle,
    );
    println!(
        "offered on create: {offered_at_once}/{}; tasks in the engine: {}, reservations: {}",
        sizes.tasks,
        bench.engine.tasks.len(),
        bench.engine.reservations.len()
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = Sizes::from_env(full);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(20)
        .configure_from_args();
    criterion_benches(&mut c, sizes);
    c.final_summary();
    println!(
        "\ncustom loop: offers/s = 1 / mean(create_task + take_changes); cycles/s = tasks / wall time of create → accept → complete (oldest) with take_changes after each call"
    );
    custom_loop(sizes, false);
    custom_loop(sizes, true);
}
