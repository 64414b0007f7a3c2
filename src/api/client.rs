//! The web client's files, embedded in the binary from `web-client/` (read from the source tree
//! in debug builds): the agent and supervisor desktop at `/desktop`, the webchat widget with
//! its demo page at `/webchat/…`, and the modules they share (`/sdk/…`, `/chat/…`). Scripts
//! and styles are served to any origin, because the widget runs on the business's own site.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::AppState;
use crate::api::pages::html_owned;
use crate::error::ApiError;

#[derive(rust_embed::Embed)]
#[folder = "web-client/"]
#[include = "sdk/*.js"]
#[include = "chat/*.js"]
#[include = "webchat/*"]
#[include = "desktop/*"]
struct Files;

/// The desktop's policy: this origin only; images also from `blob:` (attachment previews).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self' blob: data:; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// The directories served as `/{dir}/{file}`.
pub const DIRS: [&str; 4] = ["sdk", "chat", "webchat", "desktop"];

/// `text/…` content type of a served file, by extension; other files are not served.
fn content_type(path: &str) -> Option<&'static str> {
    match path.rsplit_once('.')?.1 {
        "js" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

fn page(path: &str) -> Result<String, ApiError> {
    let file = Files::get(path).ok_or_else(|| ApiError::NotFound(format!("/{path}")))?;
    String::from_utf8(file.data.into_owned()).map_err(|_| ApiError::Internal)
}

/// `GET /{dir}/{file}`: a script, style sheet or icon of the web client.
pub async fn file(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path().trim_start_matches('/');
    let not_found = || ApiError::NotFound(req.path().to_owned());
    if path.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
        return Err(not_found());
    }
    let kind = content_type(path).ok_or_else(not_found)?;
    let file = Files::get(path).ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(file.data.into_owned()))
}

/// `GET /desktop`: the agent desktop, or the supervisor view for a supervisor's session.
pub async fn desktop() -> Result<HttpResponse, ApiError> {
    Ok(html_owned(page("desktop/index.html")?, CSP))
}

/// `GET /webchat/demo`: a demo site hosting the widget on the first account's webchat address
/// (`webchat`, else its first chat address).
pub async fn webchat_demo(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut chosen = None;
    for account in state.accounts.sids() {
        let chats: Vec<_> = crate::addresses::list(state.store.as_ref(), &account)
            .await?
            .into_iter()
            .filter(|a| a.kind == "chat")
            .collect();
        let best = chats
            .iter()
            .find(|a| a.address == "webchat")
            .or(chats.first())
            .cloned();
        if best.is_some() {
            chosen = best;
            break;
        }
    }
    let address = chosen.ok_or_else(|| ApiError::NotFound("no chat address to demo".into()))?;
    let html = page("webchat/demo.html")?.replace("{{ADDRESS_SID}}", address.sid.as_str());
    Ok(html_owned(html, CSP))
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn only_scripts_styles_and_icons_are_served() {
        assert_eq!(
            content_type("sdk/connection.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            content_type("desktop/desktop.css"),
            Some("text/css; charset=utf-8")
        );
        assert_eq!(content_type("webchat/demo.html"), None);
        assert_eq!(content_type("webchat/README"), None);
    }
}
