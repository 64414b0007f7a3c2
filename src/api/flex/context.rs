//! [`FlexCtx`]: the authenticated caller of a Flex request and the base URL of its resources
//! (`http://host/flex-api/v1`), plus the in-memory paging Flex lists use.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde_json::Value;

use crate::api::AppState;
use crate::api::context::product;
use crate::api::pagination;
use crate::api::params::Params;
use crate::error::ApiError;
use crate::ids::AccountSid;
use crate::store::Page;

/// Caller, base URL and state of a Flex request.
pub struct FlexCtx {
    /// The authenticated account.
    pub account: AccountSid,
    /// `http://host/flex-api/v1`.
    pub base: String,
    /// Shared state.
    pub state: web::Data<AppState>,
}

impl FromRequest for FlexCtx {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<FlexCtx, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (account, base, state) = product(&req, "/flex-api/v1").await?;
            Ok(FlexCtx {
                account,
                base,
                state,
            })
        })
    }
}

/// A path segment.
pub fn seg(req: &HttpRequest, name: &str) -> String {
    req.match_info().get(name).unwrap_or_default().to_owned()
}

/// One page (per `PageSize`/`Page` of the query) of an in-memory list, rendered under `key`.
pub fn page<T>(
    req: &HttpRequest,
    key: &str,
    list_url: &str,
    all: Vec<T>,
    render: impl FnMut(T) -> Value,
) -> Result<Value, ApiError> {
    let q = Params::query(req);
    let page = pagination::page_request(&q)?;
    let total = all.len();
    let start = (page.offset() as usize).min(total);
    let items: Vec<T> = all
        .into_iter()
        .skip(start)
        .take(page.size as usize)
        .collect();
    let has_more = start + items.len() < total;
    Ok(pagination::render(
        key,
        Page { items, has_more },
        page,
        list_url,
        &[],
        render,
    ))
}
