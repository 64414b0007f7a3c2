//! The TaskRouter expression language (spec: `twilio-api.md` §8), parsed once and evaluated
//! many times against `serde_json::Value` attributes.
//!
//! Used for TaskQueue `TargetWorkers`, workflow filter `expression`, target `expression`,
//! `skip_if` and the list filters. Parsing never panics: any input string yields either an
//! [`Expr`] or an [`ExprError`] that says what is wrong and where (byte offset and column).
//!
//! # Grammar
//! ```text
//! expr        := or_expr
//! or_expr     := and_expr ( OR and_expr )*
//! and_expr    := unary    ( AND unary )*           ; AND binds tighter than OR
//! unary       := '(' expr ')' | comparison
//! comparison  := operand op operand
//! op          := '==' | '!=' | '>' | '>=' | '<' | '<=' | CONTAINS | HAS | IN | NOT IN
//! operand     := string | number | boolean | array | key
//! string      := '"' chars '"' | "'" chars "'"      ; no escapes, no embedded quote of the same kind
//! number      := digits [ '.' digits ] | '.' digits  ; 1, 1.0, .1, 3.141529 (no sign, no exponent)
//! boolean     := true | false                        ; unquoted
//! array       := '[' [ operand ( ',' operand )* ] ']'
//! key         := ident ( '.' segment | '[' digits ']' )*   ; object.array[2], worker.routing.skills
//! ident       := [A-Za-z_][A-Za-z0-9_]*              ; hyphens are not supported
//! segment     := [A-Za-z0-9_]+
//! ```
//! Keywords (`AND OR NOT IN HAS CONTAINS true false`) are case-insensitive; a keyword cannot be
//! used as the first part of a key. A single `=` is rejected (the docs only show `==`).
//!
//! # Semantics (see [`eval`])
//! * A missing key, or a JSON `null`, is NULL: every comparison involving NULL is false
//!   (including `!=` and `NOT IN`).
//! * `== != > >= < <= CONTAINS` are scalar operators: an array (or object) operand makes them
//!   false. Operands of different types compare false. `CONTAINS` is substring on strings.
//!   Ordering works on numbers and on strings (lexicographic).
//! * `HAS`: array on the left contains the right scalar. `IN` / `NOT IN`: left scalar is / is not
//!   in the right array. On two scalars these are false.
//! * Keys resolve against a [`Context`]: a single attribute object (optionally with built-in
//!   properties layered over it), or, for target expressions, `task.…` against the task and
//!   `worker.…` against the worker; there unprefixed keys are NULL.

pub mod eval;
pub mod lexer;
pub mod parser;

#[cfg(test)]
mod tests;

pub use eval::Context;
pub use parser::parse;

use serde_json::Value;

/// A parsed expression: an OR of ANDs of comparisons (with arbitrary parenthesised nesting).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// True when any child is true.
    Or(Vec<Expr>),
    /// True when every child is true.
    And(Vec<Expr>),
    /// `left op right`.
    Compare {
        /// Left operand.
        left: Operand,
        /// The operator.
        op: CmpOp,
        /// Right operand.
        right: Operand,
    },
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A string, number or boolean literal.
    Literal(Value),
    /// An array literal; its elements may be keys.
    Array(Vec<Operand>),
    /// A key looked up in the [`Context`].
    Key(Key),
}

/// A key path such as `object.array[2]`; the first segment is always a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The path, in order.
    pub segments: Vec<Segment>,
}

/// One step of a [`Key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name` (or the leading name).
    Field(String),
    /// `[n]`.
    Index(usize),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `CONTAINS` (substring)
    Contains,
    /// `HAS` (array membership, array on the left)
    Has,
    /// `IN` (array membership, array on the right)
    In,
    /// `NOT IN`
    NotIn,
}

/// Why an expression could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct ExprError {
    /// What is wrong, e.g. `expected an operator, found end of expression`.
    pub message: String,
    /// Byte offset into the source (equal to its length for "unexpected end").
    pub position: usize,
    /// 1-based column in characters.
    pub column: usize,
}

impl ExprError {
    pub(crate) fn new(src: &str, position: usize, message: impl Into<String>) -> Self {
        let position = position.min(src.len());
        let column = src
            .get(..position)
            .map_or(position, |head| head.chars().count())
            + 1;
        Self {
            message: message.into(),
            position,
            column,
        }
    }
}
