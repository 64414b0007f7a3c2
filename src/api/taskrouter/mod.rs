//! TaskRouter v1 under `/taskrouter` (`twilio-api.md` §7): every resource of a workspace is
//! read and changed through its [`crate::routing::actor::RouterActor`]; each handler sends
//! one closure that validates, applies and renders, so an answer always shows the state the
//! change produced. This file lists the routes and holds the shared request context.

mod events;
mod render;
mod resources;
mod statistics;
mod tasks;
mod workers;
mod workspaces;

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use serde_json::Value;

use super::context::product;
use super::pagination;
use super::params::Params;
use super::{AppState, resource};
use crate::error::ApiError;
use crate::ids::AccountSid;
use crate::routing::engine::{Engine, RoutingError};
use crate::routing::model::Millis;
use crate::store::{Page, PageRequest};

/// The caller, the workspace of the path and the base of resource URLs.
pub struct TrCtx {
    /// The account.
    pub account: AccountSid,
    /// `{origin}/taskrouter/v1`
    pub base: String,
    /// The `{workspace}` path segment, as sent.
    pub workspace: String,
    /// Shared state.
    pub state: web::Data<AppState>,
}

impl FromRequest for TrCtx {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<TrCtx, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (account, base, state) = product(&req, "/taskrouter/v1").await?;
            Ok(TrCtx {
                account,
                base,
                workspace: req
                    .match_info()
                    .get("workspace")
                    .unwrap_or_default()
                    .to_owned(),
                state,
            })
        })
    }
}

impl TrCtx {
    /// Runs `f` in the workspace's router.
    pub async fn exec<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Engine, Millis) -> Result<R, RoutingError> + Send + 'static,
    {
        self.state
            .routers
            .exec(&self.account, &self.workspace, f)
            .await
    }

    /// `{base}/Workspaces/{WS}`
    pub fn ws_url(&self) -> String {
        format!("{}/Workspaces/{}", self.base, self.workspace)
    }
}

/// A path segment of the request.
pub fn path(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

/// Parses a path SID, or answers 404 for `what`.
pub fn sid<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, RoutingError> {
    raw.parse()
        .map_err(|_| RoutingError::NotFound(format!("/{what}/{raw}")))
}

/// One page of an in-memory list.
pub fn paged(items: Vec<Value>, req: PageRequest) -> Page<Value> {
    let start = req.offset() as usize;
    let has_more = items.len() > start + req.size as usize;
    Page {
        items: items
            .into_iter()
            .skip(start)
            .take(req.size as usize)
            .collect(),
        has_more,
    }
}

/// Renders a list answer with the query's filters carried into page URLs.
pub fn list_reply(
    key: &str,
    items: Vec<Value>,
    q: &Params,
    url: &str,
    filters: &[&str],
) -> Result<HttpResponse, ApiError> {
    let req = pagination::page_request(q)?;
    let carried: Vec<(&str, String)> = filters
        .iter()
        .filter_map(|f| q.get(f).map(|v| (*f, v.to_owned())))
        .collect();
    let page = paged(items, req);
    Ok(HttpResponse::Ok().json(pagination::render(key, page, req, url, &carried, |v| v)))
}

/// A parameter that must be one of a few words.
pub fn parse_with<T>(
    p: &Params,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(name, format!("must be {expected}"))),
    }
}

/// A SID parameter.
pub fn sid_param<T: std::str::FromStr>(p: &Params, name: &str) -> Result<Option<T>, ApiError> {
    match p.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(name, "is not a valid SID")),
    }
}

/// Mounts the TaskRouter routes (inside `/taskrouter`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let ws = "/v1/Workspaces/{workspace}";
    cfg.service(
        resource("/v1/Workspaces")
            .route(web::get().to(workspaces::list))
            .route(web::post().to(workspaces::create)),
    )
    .service(
        resource(ws)
            .route(web::get().to(workspaces::fetch))
            .route(web::post().to(workspaces::update))
            .route(web::delete().to(workspaces::delete)),
    )
    .service(
        resource(&format!("{ws}/Activities"))
            .route(web::get().to(resources::list_activities))
            .route(web::post().to(resources::create_activity)),
    )
    .service(
        resource(&format!("{ws}/Activities/{{sid}}"))
            .route(web::get().to(resources::fetch_activity))
            .route(web::post().to(resources::update_activity))
            .route(web::delete().to(resources::delete_activity)),
    )
    .service(
        resource(&format!("{ws}/TaskChannels"))
            .route(web::get().to(resources::list_channels))
            .route(web::post().to(resources::create_channel)),
    )
    .service(
        resource(&format!("{ws}/TaskChannels/{{sid}}"))
            .route(web::get().to(resources::fetch_channel))
            .route(web::post().to(resources::update_channel))
            .route(web::delete().to(resources::delete_channel)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues"))
            .route(web::get().to(resources::list_queues))
            .route(web::post().to(resources::create_queue)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues/Statistics"))
            .route(web::get().to(statistics::queues_list)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues/RealTimeStatistics"))
            .route(web::get().to(statistics::queues_list)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues/{{sid}}"))
            .route(web::get().to(resources::fetch_queue))
            .route(web::post().to(resources::update_queue))
            .route(web::delete().to(resources::delete_queue)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues/{{sid}}/RealTimeStatistics"))
            .route(web::get().to(statistics::queue_real_time)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues/{{sid}}/Statistics"))
            .route(web::get().to(statistics::queue_statistics)),
    )
    .service(
        resource(&format!("{ws}/TaskQueues/{{sid}}/CumulativeStatistics"))
            .route(web::get().to(statistics::queue_cumulative)),
    )
    .service(
        resource(&format!("{ws}/Workflows"))
            .route(web::get().to(resources::list_workflows))
            .route(web::post().to(resources::create_workflow)),
    )
    .service(
        resource(&format!("{ws}/Workflows/{{sid}}"))
            .route(web::get().to(resources::fetch_workflow))
            .route(web::post().to(resources::update_workflow))
            .route(web::delete().to(resources::delete_workflow)),
    )
    .service(
        resource(&format!("{ws}/Workers"))
            .route(web::get().to(workers::list))
            .route(web::post().to(workers::create)),
    )
    .service(
        resource(&format!("{ws}/Workers/RealTimeStatistics"))
            .route(web::get().to(statistics::workers_real_time)),
    )
    .service(
        resource(&format!("{ws}/Workers/Statistics"))
            .route(web::get().to(statistics::workers_statistics)),
    )
    .service(
        resource(&format!("{ws}/Workers/CumulativeStatistics"))
            .route(web::get().to(statistics::workspace_cumulative)),
    )
    .service(
        resource(&format!("{ws}/Workers/{{sid}}"))
            .route(web::get().to(workers::fetch))
            .route(web::post().to(workers::update))
            .route(web::delete().to(workers::delete)),
    )
    .service(
        resource(&format!("{ws}/Workers/{{sid}}/Channels"))
            .route(web::get().to(workers::list_channels)),
    )
    .service(
        resource(&format!("{ws}/Workers/{{sid}}/Channels/{{channel}}"))
            .route(web::get().to(workers::fetch_channel))
            .route(web::post().to(workers::update_channel)),
    )
    .service(
        resource(&format!("{ws}/Workers/{{sid}}/Statistics"))
            .route(web::get().to(statistics::worker_statistics)),
    )
    .service(
        resource(&format!("{ws}/Workers/{{sid}}/Reservations"))
            .route(web::get().to(tasks::list_worker_reservations)),
    )
    .service(
        resource(&format!(
            "{ws}/Workers/{{sid}}/Reservations/{{reservation}}"
        ))
        .route(web::get().to(tasks::fetch_worker_reservation))
        .route(web::post().to(tasks::update_worker_reservation)),
    )
    .service(
        resource(&format!("{ws}/Tasks"))
            .route(web::get().to(tasks::list))
            .route(web::post().to(tasks::create)),
    )
    .service(
        resource(&format!("{ws}/Tasks/{{sid}}"))
            .route(web::get().to(tasks::fetch))
            .route(web::post().to(tasks::update))
            .route(web::delete().to(tasks::delete)),
    )
    .service(
        resource(&format!("{ws}/Tasks/{{sid}}/Reservations"))
            .route(web::get().to(tasks::list_task_reservations)),
    )
    .service(
        resource(&format!("{ws}/Tasks/{{sid}}/Reservations/{{reservation}}"))
            .route(web::get().to(tasks::fetch_task_reservation))
            .route(web::post().to(tasks::update_task_reservation)),
    )
    .service(resource(&format!("{ws}/Events")).route(web::get().to(events::list)))
    .service(resource(&format!("{ws}/Events/{{sid}}")).route(web::get().to(events::fetch)))
    .service(
        resource(&format!("{ws}/Statistics"))
            .route(web::get().to(statistics::workspace_statistics)),
    )
    .service(
        resource(&format!("{ws}/RealTimeStatistics"))
            .route(web::get().to(statistics::workspace_real_time)),
    )
    .service(
        resource(&format!("{ws}/CumulativeStatistics"))
            .route(web::get().to(statistics::workspace_cumulative)),
    );
}
