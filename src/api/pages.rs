//! The server's own pages that need no build step and no credentials to load: `/login` (the
//! sign-in page; it posts to `/switchboard/v1/SignIn`) and its assets, embedded in the binary
//! from `web-client/login/`. Served with a strict Content-Security-Policy: this origin only.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::error::ApiError;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'none'";

const LOGIN: &str = include_str!("../../web-client/login/index.html");
const LOGIN_SCRIPT: &str = include_str!("../../web-client/login/login.js");
const LOGIN_STYLE: &str = include_str!("../../web-client/login/login.css");

/// An embedded HTML page under `csp`, never cached, sending no referrer.
pub fn html(page: &'static str, csp: &'static str) -> HttpResponse {
    html_owned(page.to_owned(), csp)
}

/// A page built at request time (a placeholder filled in) under `csp`.
pub fn html_owned(page: String, csp: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page)
}

/// An embedded script or style sheet.
pub fn asset(kind: &'static str, text: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(text)
}

/// `GET /login`
pub async fn login() -> HttpResponse {
    html(LOGIN, CSP)
}

/// `GET /login/assets/{file}`
pub async fn login_asset(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (kind, text) = match req.match_info().get("file").unwrap_or_default() {
        "login.js" => ("text/javascript; charset=utf-8", LOGIN_SCRIPT),
        "login.css" => ("text/css; charset=utf-8", LOGIN_STYLE),
        _ => return Err(ApiError::NotFound(req.path().to_owned())),
    };
    Ok(asset(kind, text))
}
