//! Twilio's "meta" pagination: `PageSize`/`Page` in, `{<key>: [...], meta: {...}}` out, with
//! absolute page URLs on our own host that carry every filter, so helper libraries can follow
//! `next_page_url` verbatim.

use serde_json::{Value, json};

use crate::api::params::Params;
use crate::error::ApiError;
use crate::store::{Page, PageRequest};

/// Twilio's default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page served.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Reads `PageSize` and `Page` from the query.
pub fn page_request(q: &Params) -> Result<PageRequest, ApiError> {
    let size = match q.unsigned("PageSize")? {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if (1..=u64::from(MAX_PAGE_SIZE)).contains(&n) => n as u32,
        Some(_) => {
            return Err(ApiError::invalid(
                "PageSize",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
    };
    let page = match q.unsigned("Page")? {
        None => 0,
        Some(n) if n <= 1_000_000 => n as u32,
        Some(_) => return Err(ApiError::invalid("Page", "is too large")),
    };
    Ok(PageRequest { page, size })
}

fn page_url(list_url: &str, filters: &[(&str, String)], size: u32, page: u32) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in filters {
        q.append_pair(k, v);
    }
    q.append_pair("PageSize", &size.to_string());
    q.append_pair("Page", &page.to_string());
    format!("{list_url}?{}", q.finish())
}

/// Renders a page of an in-memory list in the 2010-04-01 API's format (`*_page_uri` relative
/// to the product root, `start`/`end`), as `/api` resources use it.
pub fn render_v2010(
    key: &str,
    all: &[Value],
    req: PageRequest,
    path: &str,
    filters: &[(&str, &str)],
) -> Value {
    let start = req.offset() as usize;
    let items: Vec<Value> = all
        .iter()
        .skip(start)
        .take(req.size as usize)
        .cloned()
        .collect();
    let has_more = all.len() > start + items.len();
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in filters {
        q.append_pair(k, v);
    }
    let q = q.finish();
    let uri = |n: u32| {
        format!(
            "{path}?{q}{}PageSize={}&Page={n}",
            if q.is_empty() { "" } else { "&" },
            req.size
        )
    };
    json!({
        key: items,
        "start": start,
        "end": start + items.len().saturating_sub(1),
        "page": req.page,
        "page_size": req.size,
        "first_page_uri": uri(0),
        "previous_page_uri": if req.page > 0 { Value::String(uri(req.page - 1)) } else { Value::Null },
        "next_page_uri": if has_more { Value::String(uri(req.page + 1)) } else { Value::Null },
        "uri": uri(req.page),
    })
}

/// Renders one page of `items` under `key`.
pub fn render<T>(
    key: &str,
    page: Page<T>,
    req: PageRequest,
    list_url: &str,
    filters: &[(&str, String)],
    mut render_item: impl FnMut(T) -> Value,
) -> Value {
    let items: Vec<Value> = page.items.into_iter().map(&mut render_item).collect();
    let url = |p: u32| page_url(list_url, filters, req.size, p);
    json!({
        key: items,
        "meta": {
            "page": req.page,
            "page_size": req.size,
            "first_page_url": url(0),
            "previous_page_url": if req.page > 0 { Value::String(url(req.page - 1)) } else { Value::Null },
            "url": url(req.page),
            "next_page_url": if page.has_more { Value::String(url(req.page + 1)) } else { Value::Null },
            "key": key,
        }
    })
}
