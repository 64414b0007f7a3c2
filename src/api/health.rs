//! `/healthz` (the process serves requests) and `/readyz` (its store answers).

use actix_web::{HttpResponse, web};

use crate::api::AppState;

/// Liveness: 200 once the server accepts requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// Readiness: 200 when a store read succeeds.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.accounts().await {
        Ok(_) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "store unavailable"})),
    }
}
