//! Fuzz target: the TaskRouter expression parser and evaluator
//! (`switchboard::routing::expr`).
//!
//! Arbitrary UTF-8 goes to `parse`; it must never panic and must either return an `Expr` or an
//! `ExprError` whose position lies inside the input on a character boundary. A parsed
//! expression is evaluated in every kind of context the router uses (plain worker attributes,
//! worker attributes with built-in properties, task attributes, a target context with `task.`
//! and `worker.` keys, and the `skip_if` presence document); evaluation must not panic either.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use switchboard::routing::expr::{Context, parse};

/// Worker attributes (twilio-api.md §11.1 "W", plus null/bool/float/nesting edge cases).
static WORKER: LazyLock<Value> = LazyLock::new(|| {
    json!({"skills": ["support", "billing"], "languages": ["english", "spanish"], "level": 5,
           "name": "bob", "region": "us", "routing": {"skills": ["sales"], "levels": {"sales": 3}},
           "nothing": null, "flag": true, "ratio": 0.5, "big": 1e300, "neg": -7,
           "nested": [[1, 2], {"a": [null, "x"]}], "empty": [], "obj": {}})
});

/// Built-in worker properties, as the engine layers them over the attributes.
static PROPERTIES: LazyLock<Value> = LazyLock::new(|| {
    json!({"sid": "WK0123456789abcdef0123456789abcdef", "friendly_name": "alice",
           "activity_sid": "WA0123456789abcdef0123456789abcdef", "activity_name": "Available",
           "available": true,
           "channel": {"chat": {"configured_capacity": 3, "assigned_tasks": 1,
                                "available_capacity_percentage": 66, "available": true}}})
});

/// Task attributes (§11.1 "T" and "T2").
static TASK: LazyLock<Value> = LazyLock::new(|| {
    json!({"string_const": "foo", "object": {"array": ["a", "b", "c"], "attr": "bar"},
           "customer_value": "Gold", "type": "ticket", "language": "english", "skill_rating": 6,
           "required_skill": "billing", "preferred_agents": ["WK0123456789abcdef0123456789abcdef"],
           "do_not_contact": ["WK2"]})
});

/// The `skip_if` document.
static PRESENCE: LazyLock<Value> =
    LazyLock::new(|| json!({"workers": {"available": 0, "unavailable": 3}}));

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match parse(src) {
        Ok(expr) => {
            let _ = expr.matches(&Context::new(&WORKER));
            let _ = expr.matches(&Context::new(&WORKER).with_properties(&PROPERTIES));
            let _ = expr.matches(&Context::new(&TASK));
            let _ = expr.matches(&Context::new(&PRESENCE));
            let _ = expr.matches(
                &Context::target(&TASK, &WORKER).with_worker_properties(&PROPERTIES),
            );
            // Parsing is deterministic.
            assert_eq!(parse(src).ok(), Some(expr));
        }
        Err(err) => {
            assert!(err.position <= src.len(), "{err:?} past the end of {src:?}");
            assert!(
                src.is_char_boundary(err.position),
                "{err:?} not on a character boundary of {src:?}"
            );
            assert!(err.column >= 1);
            let _ = err.to_string();
        }
    }
});
