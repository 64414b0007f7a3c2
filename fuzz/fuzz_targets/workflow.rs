//! Fuzz target: the workflow configuration compiler (`switchboard::routing::workflow::compile`).
//!
//! Arbitrary UTF-8 goes to `compile` with a fixed set of workspace queues; it must never panic.
//! A configuration that compiles must only name those queues, and its filters must then be
//! usable: `first_match` is run over a few task attribute documents, and every known-worker
//! lookup is evaluated.

#![no_main]

use std::collections::HashSet;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use switchboard::ids::TaskQueueSid;
use switchboard::routing::workflow::compile;

/// The workspace's queues. Seeds in the corpus should use these SIDs.
static QUEUES: LazyLock<HashSet<TaskQueueSid>> = LazyLock::new(|| {
    [
        "WQ00000000000000000000000000000000",
        "WQ11111111111111111111111111111111",
        "WQ22222222222222222222222222222222",
    ]
    .iter()
    .map(|s| s.parse().expect("queue sid"))
    .collect()
});

static TASKS: LazyLock<Vec<Value>> = LazyLock::new(|| {
    vec![
        json!({}),
        json!({"type": "Support", "preferred_agents": ["WK1"], "KnownAgentRoutingFlag": "true",
               "KnownAgentWorkerFriendlyName": "alice"}),
        json!({"category": "payments", "type": "Sales", "priority": 5, "nested": {"a": [1, 2]}}),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(program) = compile(text, &QUEUES) else {
        return;
    };
    for queue in program.queues() {
        assert!(QUEUES.contains(queue), "compiled a foreign queue {queue}");
    }
    for task in TASKS.iter() {
        for start in 0..=program.filters.len() {
            if let Some(i) = program.first_match(task, start) {
                assert!(i >= start && i < program.filters.len());
            }
        }
        for target in program.filters.iter().flat_map(|f| &f.targets) {
            for known in [&target.known_worker_sid, &target.known_worker_friendly_name]
                .into_iter()
                .flatten()
            {
                let _ = known.value(task);
            }
        }
    }
});
