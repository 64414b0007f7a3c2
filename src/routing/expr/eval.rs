//! Evaluation: [`Context`] (where keys resolve) and [`Expr::matches`].
//!
//! Missing keys and JSON `null` are NULL and make any comparison false; see the module docs
//! of [`super`] for the operator rules.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use super::{CmpOp, Expr, Key, Operand, Segment};

/// Where keys are looked up.
///
/// * [`Context::new`]: plain keys against one attribute object (TaskQueue `TargetWorkers`
///   over a worker, filter expressions over a task, `skip_if` over `{"workers": {...}}`).
/// * [`Context::target`]: target expressions; `task.x` resolves against the task attributes,
///   `worker.x` against the worker; unprefixed keys are NULL.
///
/// Built-in properties (a worker's `sid`, `friendly_name`, `activity_sid`, `activity_name`,
/// `channel`) are layered over the attributes with [`Context::with_properties`] /
/// [`Context::with_worker_properties`]: a key whose first name exists in the properties object
/// resolves there, otherwise in the attributes.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    plain: Vec<&'a Value>,
    task: Vec<&'a Value>,
    worker: Vec<&'a Value>,
    prefixed: bool,
}

impl<'a> Context<'a> {
    /// Plain keys against `attributes`.
    pub fn new(attributes: &'a Value) -> Self {
        Self {
            plain: vec![attributes],
            task: Vec::new(),
            worker: Vec::new(),
            prefixed: false,
        }
    }

    /// Target-expression context: `task.` and `worker.` prefixes.
    pub fn target(task_attributes: &'a Value, worker_attributes: &'a Value) -> Self {
        Self {
            plain: Vec::new(),
            task: vec![task_attributes],
            worker: vec![worker_attributes],
            prefixed: true,
        }
    }

    /// Layers built-in properties over the plain attributes (looked up first).
    pub fn with_properties(mut self, properties: &'a Value) -> Self {
        self.plain.insert(0, properties);
        self
    }

    /// Layers worker built-in properties over the worker attributes in a target context.
    pub fn with_worker_properties(mut self, properties: &'a Value) -> Self {
        self.worker.insert(0, properties);
        self
    }

    fn resolve(&self, key: &Key) -> Option<&'a Value> {
        let segments = key.segments.as_slice();
        if !self.prefixed {
            return lookup(&self.plain, segments);
        }
        match segments.split_first() {
            Some((Segment::Field(scope), rest)) if scope == "task" => lookup(&self.task, rest),
            Some((Segment::Field(scope), rest)) if scope == "worker" => lookup(&self.worker, rest),
            _ => None,
        }
    }
}

/// The first layer that has the key's first segment wins; an empty path is the last layer
/// (the attributes object itself).
fn lookup<'a>(layers: &[&'a Value], segments: &[Segment]) -> Option<&'a Value> {
    let Some(first) = segments.first() else {
        return layers.last().copied();
    };
    let layer = layers.iter().find(|layer| step(layer, first).is_some())?;
    segments
        .iter()
        .try_fold(*layer, |value, segment| step(value, segment))
}

fn step<'a>(value: &'a Value, segment: &Segment) -> Option<&'a Value> {
    match segment {
        Segment::Field(name) => value.as_object()?.get(name),
        Segment::Index(i) => value.as_array()?.get(*i),
    }
}

impl Expr {
    /// Evaluates the expression against `ctx`.
    pub fn matches(&self, ctx: &Context<'_>) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.matches(ctx)),
            Expr::And(items) => items.iter().all(|e| e.matches(ctx)),
            Expr::Compare { left, op, right } => {
                match (operand_value(left, ctx), operand_value(right, ctx)) {
                    (Some(l), Some(r)) => compare(&l, *op, &r),
                    _ => false,
                }
            }
        }
    }
}

/// `None` is NULL (missing key or JSON null).
fn operand_value<'a>(operand: &'a Operand, ctx: &Context<'a>) -> Option<Cow<'a, Value>> {
    let value = match operand {
        Operand::Literal(v) => Cow::Borrowed(v),
        Operand::Key(key) => Cow::Borrowed(ctx.resolve(key)?),
        Operand::Array(items) => Cow::Owned(Value::Array(
            items
                .iter()
                .map(|item| operand_value(item, ctx).map_or(Value::Null, Cow::into_owned))
                .collect(),
        )),
    };
    (!value.is_null()).then_some(value)
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Same-type scalar equality; numbers compare numerically (`5 == 5.0`).
fn scalar_eq(l: &Value, r: &Value) -> bool {
    match (l, r) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => false,
    }
}

fn scalar_order(l: &Value, r: &Value) -> Option<Ordering> {
    match (l, r) {
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        _ => None,
    }
}

fn same_type(l: &Value, r: &Value) -> bool {
    std::mem::discriminant(l) == std::mem::discriminant(r)
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    match op {
        CmpOp::Has => match l {
            Value::Array(items) if is_scalar(r) => items.iter().any(|item| scalar_eq(item, r)),
            _ => false,
        },
        CmpOp::In | CmpOp::NotIn => match r {
            Value::Array(items) if is_scalar(l) => {
                items.iter().any(|item| scalar_eq(l, item)) == (op == CmpOp::In)
            }
            _ => false,
        },
        _ if !is_scalar(l) || !is_scalar(r) || !same_type(l, r) => false,
        CmpOp::Eq => scalar_eq(l, r),
        CmpOp::Ne => !scalar_eq(l, r),
        CmpOp::Contains => match (l, r) {
            (Value::String(a), Value::String(b)) => a.contains(b.as_str()),
            _ => false,
        },
        CmpOp::Gt => scalar_order(l, r) == Some(Ordering::Greater),
        CmpOp::Lt => scalar_order(l, r) == Some(Ordering::Less),
        CmpOp::Ge => matches!(
            scalar_order(l, r),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        CmpOp::Le => matches!(scalar_order(l, r), Some(Ordering::Less | Ordering::Equal)),
    }
}
