//! Prometheus metrics, served at `/metrics`. Names follow `switchboard_<domain>_<thing>_<unit>`;
//! the code records them through the `metrics` facade where the event happens.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// WebSocket sessions currently open.
pub const GATEWAY_SESSIONS: &str = "switchboard_gateway_sessions";
/// Sessions closed because their outbound queue filled (close code 4001).
pub const GATEWAY_SLOW_CONSUMERS: &str = "switchboard_gateway_slow_consumer_closes_total";
/// Messages committed (REST and WebSocket sends).
pub const MESSAGES_COMMITTED: &str = "switchboard_conversations_messages_committed_total";
/// Conversation actors currently running.
pub const ACTORS_LIVE: &str = "switchboard_conversations_actors_live";
/// Write units per committed batch (group-commit effectiveness).
pub const BATCH_UNITS: &str = "switchboard_store_batch_units";
/// Time to apply and commit one batch.
pub const COMMIT_SECONDS: &str = "switchboard_store_commit_seconds";
/// Batches whose commit failed.
pub const COMMIT_FAILURES: &str = "switchboard_store_commit_failures_total";
/// A task's creation → its first offer (reservation) committed and sent to the worker's
/// sessions.
pub const ROUTING_OFFER_SECONDS: &str = "switchboard_routing_task_to_offer_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns the handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => handle,
            // Another recorder is already installed (embedding): render an empty registry.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        })
        .clone()
}
