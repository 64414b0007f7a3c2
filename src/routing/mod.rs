//! Task routing: how tasks find workers.
//!
//! So far this holds only the TaskRouter expression language ([`expr`]), a pure module with no
//! I/O that parses expressions such as `skills HAS 'support' AND level > 3` and evaluates them
//! against JSON attributes.

pub mod expr;
