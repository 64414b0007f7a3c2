//! What the desktop may call over REST with its user's access token instead of account
//! credentials, as Flex UI calls the Flex API with its agent's token: an `X-Twilio-Token`
//! header (or `Authorization: Bearer`) carrying an agent's or supervisor's token opens a fixed
//! list of routes, in the token's account and TaskRouter workspace only. Everything else
//! still needs the account's credentials.

use actix_web::HttpRequest;
use actix_web::http::Method;

use crate::gateway::token::{Principal, Role};

/// The token of a request, from `X-Twilio-Token` or `Authorization: Bearer`.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let headers = req.headers();
    if let Some(t) = headers.get("X-Twilio-Token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim());
    }
    headers
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Whether `who` may make this request with its token.
pub fn allowed(who: &Principal, method: &Method, path: &str) -> bool {
    let role = who.role;
    if role == Role::Guest {
        return false;
    }
    let workspace = who
        .grants
        .task_router
        .as_ref()
        .and_then(|t| t.workspace_sid.as_deref());
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let supervisor = role == Role::Supervisor;
    match (method.as_str(), segments.as_slice()) {
        // Start an outbound conversation; transfer, invite, and close an agent's part.
        ("POST", ["flex-api", "v1", "Interactions"]) => true,
        (
            "POST",
            [
                "flex-api",
                "v1",
                "Interactions",
                _,
                "Channels",
                _,
                "Transfers" | "Invites",
            ],
        ) => true,
        ("POST", ["flex-api", "v1", "Interactions", _, "Channels", _]) => true,
        (
            "POST",
            [
                "flex-api",
                "v1",
                "Interactions",
                _,
                "Channels",
                _,
                "Participants",
                _,
            ],
        ) => true,
        (
            "GET",
            [
                "flex-api",
                "v1",
                "Interactions",
                _,
                "Channels",
                _,
                "Participants",
            ],
        ) => true,
        // Transfer targets and the floor, in the token's own workspace.
        (
            "GET",
            [
                "taskrouter",
                "v1",
                "Workspaces",
                ws,
                "TaskQueues" | "Workers" | "Activities",
            ],
        ) => workspace == Some(*ws),
        ("GET", ["taskrouter", "v1", "Workspaces", ws, "Tasks"]) => {
            supervisor && workspace == Some(*ws)
        }
        // Supervisors find the conversations to monitor.
        ("GET", ["conversations", "v1", "Conversations"]) => supervisor,
        ("GET", ["conversations", "v1", "Conversations", _, "Participants"]) => supervisor,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::token::{Grants, TaskRouterGrant};

    fn principal(role: Role, workspace: &str) -> Principal {
        Principal {
            account: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("sid"),
            key: "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".parse().expect("sid"),
            identity: "alice".into(),
            grants: Grants {
                identity: Some("alice".into()),
                chat: None,
                task_router: (role != Role::Guest).then(|| TaskRouterGrant {
                    role: Some(
                        if role == Role::Supervisor {
                            "supervisor"
                        } else {
                            "agent"
                        }
                        .into(),
                    ),
                    workspace_sid: Some(workspace.into()),
                    worker_sid: None,
                }),
            },
            role,
            expires_at: 0,
        }
    }

    #[test]
    fn agents_reach_only_the_desktop_routes_of_their_workspace() {
        let agent = principal(Role::Agent, "WS1");
        let post = Method::POST;
        let get = Method::GET;
        assert!(allowed(&agent, &post, "/flex-api/v1/Interactions"));
        assert!(allowed(
            &agent,
            &post,
            "/flex-api/v1/Interactions/KD1/Channels/UO1/Transfers"
        ));
        assert!(allowed(
            &agent,
            &get,
            "/taskrouter/v1/Workspaces/WS1/TaskQueues"
        ));
        assert!(!allowed(
            &agent,
            &get,
            "/taskrouter/v1/Workspaces/WS2/TaskQueues"
        ));
        assert!(!allowed(
            &agent,
            &get,
            "/taskrouter/v1/Workspaces/WS1/Tasks"
        ));
        assert!(!allowed(&agent, &get, "/conversations/v1/Conversations"));
        assert!(!allowed(
            &agent,
            &Method::DELETE,
            "/conversations/v1/Conversations/CH1"
        ));
        assert!(!allowed(
            &agent,
            &post,
            "/taskrouter/v1/Workspaces/WS1/Workers"
        ));
        assert!(!allowed(&agent, &post, "/switchboard/v1/Logins"));
    }

    #[test]
    fn supervisors_also_list_tasks_and_conversations_and_guests_nothing() {
        let sup = principal(Role::Supervisor, "WS1");
        assert!(allowed(
            &sup,
            &Method::GET,
            "/taskrouter/v1/Workspaces/WS1/Tasks"
        ));
        assert!(allowed(
            &sup,
            &Method::GET,
            "/conversations/v1/Conversations"
        ));
        assert!(!allowed(
            &sup,
            &Method::POST,
            "/conversations/v1/Conversations"
        ));
        let guest = principal(Role::Guest, "WS1");
        assert!(!allowed(&guest, &Method::POST, "/flex-api/v1/Interactions"));
    }
}
