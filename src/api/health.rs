//! `/healthz` (the process serves requests), `/readyz` (its store answers) and `/metrics`.

use actix_web::{HttpResponse, web};

use crate::api::AppState;

/// Liveness: 200 once the server accepts requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Prometheus metrics in the text exposition format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// Readiness: 200 when a store read succeeds.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.accounts().await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "store unavailable"})),
    }
}
