//! Task routing: how tasks find workers (TaskRouter).
//!
//! * [`expr`]: the expression language, pure.
//! * [`model`]: the resources as stored.
//! * [`workflow`]: workflow configuration, compiled.
//! * [`engine`]: the routing logic of one workspace, pure (takes `now`, returns changes).
//! * [`actor`]: `RouterActor`, one per workspace, the only writer of its state: persists the
//!   engine's changes, publishes its events, runs its timers.
//! * [`registry`]: workspace SID → router, loaded at start-up.

pub mod actor;
pub mod engine;
pub mod expr;
pub mod model;
pub mod persist;
pub mod registry;
pub mod wire;
pub mod workflow;
