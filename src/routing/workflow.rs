//! Workflow configuration (`twilio-api.md` §9): the JSON document parsed and validated once,
//! with every expression compiled, so routing never re-parses text.
//!
//! A bad configuration is refused with a message naming the field and, for expressions, the
//! column of the error.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::expr::{self, Context, Expr, Key, Segment};
use crate::ids::TaskQueueSid;

/// A compiled workflow.
#[derive(Debug, Clone)]
pub struct Program {
    /// Tried top to bottom; the first match wins.
    pub filters: Vec<Filter>,
    /// Used when no filter matched (no timeout).
    pub default_queue: Option<TaskQueueSid>,
}

/// One filter: a task expression and its routing steps.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `filter_friendly_name`
    pub name: String,
    /// Over the task attributes.
    pub expression: Expr,
    /// Steps, in order.
    pub targets: Vec<Target>,
}

/// One routing step.
#[derive(Debug, Clone)]
pub struct Target {
    /// The queue whose workers are eligible.
    pub queue: TaskQueueSid,
    /// Narrows the queue's workers (`task.`/`worker.` keys).
    pub expression: Option<Expr>,
    /// Overrides the task priority while in this step.
    pub priority: Option<i64>,
    /// Seconds before moving on.
    pub timeout: Option<u64>,
    /// Worker ordering.
    pub order_by: Vec<(Key, bool)>,
    /// Skips the step when no reservation could be made and this holds.
    pub skip_if: Option<Expr>,
    /// A key (`task.x`) or literal yielding the one eligible worker's SID.
    pub known_worker_sid: Option<KnownWorker>,
    /// Same, by friendly name.
    pub known_worker_friendly_name: Option<KnownWorker>,
}

/// A `known_worker_*` value: a `task.` key or a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum KnownWorker {
    /// Looked up in the task attributes.
    TaskKey(Key),
    /// Taken as is.
    Literal(String),
}

impl KnownWorker {
    /// The value for a task.
    pub fn value(&self, task_attributes: &Value) -> Option<String> {
        match self {
            KnownWorker::Literal(s) => Some(s.clone()),
            KnownWorker::TaskKey(key) => match resolve(task_attributes, &key.segments)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            },
        }
    }
}

/// Looks a key path up in a JSON value.
pub fn resolve<'a>(value: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    segments.iter().try_fold(value, |v, s| match s {
        Segment::Field(name) => v.as_object()?.get(name),
        Segment::Index(i) => v.as_array()?.get(*i),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    task_routing: RawRouting,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    #[serde(default)]
    filters: Vec<RawFilter>,
    default_filter: Option<RawDefault>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefault {
    queue: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(default)]
    filter_friendly_name: Option<String>,
    #[serde(default)]
    friendly_name: Option<String>,
    expression: String,
    #[serde(default)]
    targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    queue: Option<String>,
    expression: Option<String>,
    priority: Option<i64>,
    timeout: Option<u64>,
    order_by: Option<String>,
    skip_if: Option<String>,
    known_worker_sid: Option<String>,
    known_worker_friendly_name: Option<String>,
}

/// Parses and validates a configuration; `queues` are the workspace's queue SIDs (every target
/// must name one of them).
pub fn compile(text: &str, queues: &HashSet<TaskQueueSid>) -> Result<Program, String> {
    let raw: RawConfig =
        serde_json::from_str(text).map_err(|e| format!("Configuration is not valid: {e}"))?;
    let queue = |field: &str, value: Option<String>| -> Result<TaskQueueSid, String> {
        let value = value.ok_or_else(|| format!("{field}.queue is required"))?;
        let sid: TaskQueueSid = value
            .parse()
            .map_err(|_| format!("{field}.queue `{value}` is not a TaskQueue SID"))?;
        if !queues.contains(&sid) {
            return Err(format!(
                "{field}.queue {sid} is not a queue of this workspace"
            ));
        }
        Ok(sid)
    };
    let expression = |field: &str, src: &str| -> Result<Expr, String> {
        expr::parse(src).map_err(|e| format!("{field} `{src}`: {e}"))
    };
    let mut filters = Vec::new();
    for (i, f) in raw.task_routing.filters.into_iter().enumerate() {
        let field = format!("filters[{i}]");
        let mut targets = Vec::new();
        for (j, t) in f.targets.into_iter().enumerate() {
            let field = format!("{field}.targets[{j}]");
            let known = |name: &str, v: Option<String>| -> Result<Option<KnownWorker>, String> {
                v.map(|v| known_worker(&v).map_err(|e| format!("{field}.{name}: {e}")))
                    .transpose()
            };
            targets.push(Target {
                queue: queue(&field, t.queue)?,
                expression: t
                    .expression
                    .map(|src| expression(&format!("{field}.expression"), &src))
                    .transpose()?,
                priority: t.priority,
                timeout: t.timeout,
                order_by: t
                    .order_by
                    .map(|src| order_by(&src).map_err(|e| format!("{field}.order_by: {e}")))
                    .transpose()?
                    .unwrap_or_default(),
                skip_if: t
                    .skip_if
                    .map(|src| expression(&format!("{field}.skip_if"), &src))
                    .transpose()?,
                known_worker_sid: known("known_worker_sid", t.known_worker_sid)?,
                known_worker_friendly_name: known(
                    "known_worker_friendly_name",
                    t.known_worker_friendly_name,
                )?,
            });
        }
        if targets.is_empty() {
            return Err(format!("{field} needs at least one target"));
        }
        filters.push(Filter {
            name: f
                .filter_friendly_name
                .or(f.friendly_name)
                .unwrap_or_default(),
            expression: expression(&format!("{field}.expression"), &f.expression)?,
            targets,
        });
    }
    let default_queue = raw
        .task_routing
        .default_filter
        .map(|d| queue("default_filter", Some(d.queue)))
        .transpose()?;
    Ok(Program {
        filters,
        default_queue,
    })
}

/// Parses a key path such as `task.routing.skills[0]`.
pub fn parse_key(src: &str) -> Result<Key, String> {
    let mut segments = Vec::new();
    for part in src.trim().split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if name.is_empty() || !name.chars().all(valid) {
            return Err(format!("`{src}` is not a key"));
        }
        segments.push(Segment::Field(name.to_owned()));
        while !rest.is_empty() {
            let close = rest
                .find(']')
                .ok_or_else(|| format!("`{src}` is not a key"))?;
            let index = rest[1..close]
                .parse()
                .map_err(|_| format!("`{src}` has a bad index"))?;
            segments.push(Segment::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("`{src}` is not a key"));
            }
        }
    }
    Ok(Key { segments })
}

/// `worker.level DESC, worker.age ASC` → keys with "descending" flags.
fn order_by(src: &str) -> Result<Vec<(Key, bool)>, String> {
    let mut out = Vec::new();
    for part in src.split(',') {
        let mut words = part.split_whitespace();
        let key = words.next().ok_or("empty ordering")?;
        let desc = match words.next().map(|w| w.to_ascii_uppercase()) {
            None => false,
            Some(w) if w == "ASC" => false,
            Some(w) if w == "DESC" => true,
            Some(w) => return Err(format!("`{w}` must be ASC or DESC")),
        };
        if words.next().is_some() {
            return Err(format!("`{part}` has extra words"));
        }
        let key = parse_key(key)?;
        if !matches!(key.segments.first(), Some(Segment::Field(f)) if f == "worker") {
            return Err(format!("`{part}` must order by a worker. key"));
        }
        out.push((key, desc));
    }
    Ok(out)
}

fn known_worker(src: &str) -> Result<KnownWorker, String> {
    let src = src.trim();
    if src.starts_with("task.") {
        return Ok(KnownWorker::TaskKey(Key {
            segments: parse_key(src)?.segments.split_off(1),
        }));
    }
    let unquoted = src.trim_matches(|c| c == '"' || c == '\'');
    if unquoted.is_empty() {
        return Err("must be a task. key or a value".into());
    }
    Ok(KnownWorker::Literal(unquoted.to_owned()))
}

impl Program {
    /// The first filter (from `start`) whose expression matches the task.
    pub fn first_match(&self, task: &Value, start: usize) -> Option<usize> {
        let ctx = Context::new(task);
        (start..self.filters.len()).find(|&i| self.filters[i].expression.matches(&ctx))
    }

    /// Every queue the workflow can route to.
    pub fn queues(&self) -> impl Iterator<Item = &TaskQueueSid> {
        self.filters
            .iter()
            .flat_map(|f| f.targets.iter().map(|t| &t.queue))
            .chain(self.default_queue.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn queues() -> (TaskQueueSid, TaskQueueSid, HashSet<TaskQueueSid>) {
        let a = TaskQueueSid::generate();
        let b = TaskQueueSid::generate();
        let set = [a.clone(), b.clone()].into_iter().collect();
        (a, b, set)
    }

    #[test]
    fn compiles_the_full_target_shape() {
        let (a, b, set) = queues();
        let text = json!({"task_routing": {
            "filters": [{"filter_friendly_name": "Payments", "expression": "category == \"payments\"",
                "targets": [{"queue": a, "expression": "worker.routing.levels.payments >= 4",
                             "timeout": 30, "priority": 5, "skip_if": "workers.available == 0",
                             "order_by": "worker.level DESC", "known_worker_sid": "task.requested_agent_id",
                             "known_worker_friendly_name": "task.requested_agent"},
                            {"queue": b}]}],
            "default_filter": {"queue": b}}})
        .to_string();
        let program = compile(&text, &set).expect("compiles");
        assert_eq!(program.filters.len(), 1);
        let t = &program.filters[0].targets[0];
        assert_eq!(t.priority, Some(5));
        assert_eq!(t.timeout, Some(30));
        assert_eq!(t.order_by.len(), 1);
        assert!(t.order_by[0].1);
        let task = json!({"requested_agent_id": "WK1", "requested_agent": "alice"});
        assert_eq!(
            t.known_worker_sid.as_ref().and_then(|k| k.value(&task)),
            Some("WK1".into())
        );
        assert_eq!(
            t.known_worker_friendly_name
                .as_ref()
                .and_then(|k| k.value(&task)),
            Some("alice".into())
        );
        assert_eq!(program.default_queue, Some(b));
        assert_eq!(
            program.first_match(&json!({"category": "payments"}), 0),
            Some(0)
        );
        assert_eq!(program.first_match(&json!({"category": "sales"}), 0), None);
    }

    #[test]
    fn refuses_bad_configurations_with_the_field() {
        let (a, _, set) = queues();
        let unknown = TaskQueueSid::generate();
        let cases = [
            ("not json".to_string(), "not valid"),
            (json!({"task_routing": {"filters": [{"expression": "a ==", "targets": [{"queue": a}]}]}}).to_string(), "filters[0].expression"),
            (json!({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": unknown}]}]}}).to_string(), "not a queue of this workspace"),
            (json!({"task_routing": {"filters": [{"expression": "1==1", "targets": [{}]}]}}).to_string(), "queue is required"),
            (json!({"task_routing": {"filters": [{"expression": "1==1", "targets": []}]}}).to_string(), "at least one target"),
            (json!({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": a, "skip_if": "workers.available =="}]}]}}).to_string(), "skip_if"),
            (json!({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": a, "order_by": "worker.level SIDEWAYS"}]}]}}).to_string(), "order_by"),
            (json!({"task_routing": {"default_filter": {"queue": "nope"}}}).to_string(), "default_filter"),
            (json!({"routing": {}}).to_string(), "not valid"),
        ];
        for (text, expected) in cases {
            let err = compile(&text, &set).expect_err(&text);
            assert!(err.contains(expected), "{text}: {err}");
        }
        let column = compile(
            &json!({"task_routing": {"filters": [{"expression": "a == 1 AND", "targets": [{"queue": a}]}]}}).to_string(),
            &set,
        )
        .expect_err("bad");
        assert!(column.contains("column"), "{column}");
    }

    #[test]
    fn keys_parse_with_indexes() {
        let key = parse_key("task.object.array[2]").expect("key");
        assert_eq!(
            resolve(
                &json!({"task": {"object": {"array": [1, 2, 3]}}}),
                &key.segments
            ),
            Some(&json!(3))
        );
        assert!(parse_key("a..b").is_err());
        assert!(parse_key("a[x]").is_err());
        assert!(parse_key("a-b").is_err());
    }
}
