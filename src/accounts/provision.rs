//! What a new account and a new conversation service start with, as Twilio creates them: the
//! account's default service and Configuration, and each service's four default roles and
//! service Configuration.

use crate::ids::{RoleSid, ServiceSid};
use crate::store::Mutation;
use crate::store::records::*;

/// Permissions of the default roles, as Twilio lists them.
const SERVICE_ADMIN: &[&str] = &[
    "addParticipant",
    "createConversation",
    "deleteAnyMessage",
    "deleteConversation",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "editAnyParticipantAttributes",
    "editAnyUserInfo",
    "editConversationAttributes",
    "editConversationName",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "editOwnParticipantAttributes",
    "editOwnUserInfo",
    "joinConversation",
    "leaveConversation",
    "removeParticipant",
    "sendMediaMessage",
    "sendMessage",
];
const SERVICE_USER: &[&str] = &["createConversation", "editOwnUserInfo", "joinConversation"];
const CHANNEL_ADMIN: &[&str] = &[
    "addParticipant",
    "deleteAnyMessage",
    "deleteConversation",
    "editAnyMessage",
    "editAnyMessageAttributes",
    "editAnyParticipantAttributes",
    "editConversationAttributes",
    "editConversationName",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "editOwnParticipantAttributes",
    "leaveConversation",
    "removeParticipant",
    "sendMediaMessage",
    "sendMessage",
];
const CHANNEL_USER: &[&str] = &[
    "deleteOwnMessage",
    "editOwnMessage",
    "editOwnMessageAttributes",
    "editOwnParticipantAttributes",
    "leaveConversation",
    "sendMediaMessage",
    "sendMessage",
];

fn role(service: &ServiceRecord, name: &str, kind: &str, perms: &[&str]) -> RoleRecord {
    RoleRecord {
        sid: RoleSid::generate(),
        account_sid: service.account_sid.clone(),
        service_sid: service.sid.clone(),
        friendly_name: name.into(),
        role_type: kind.into(),
        permissions: perms.iter().map(|p| p.to_string()).collect(),
        date_created: service.date_created,
        date_updated: service.date_created,
    }
}

/// The mutations creating `service` with its default roles and configuration.
pub fn new_service_unit(service: &ServiceRecord) -> Vec<Mutation> {
    let service_admin = role(
        service,
        "Conversation Service Admin",
        "service",
        SERVICE_ADMIN,
    );
    let service_user = role(
        service,
        "Conversation Service User",
        "service",
        SERVICE_USER,
    );
    let channel_admin = role(service, "Conversation Admin", "conversation", CHANNEL_ADMIN);
    let channel_user = role(service, "Conversation User", "conversation", CHANNEL_USER);
    let config = ServiceConfigRecord {
        service_sid: service.sid.clone(),
        account_sid: service.account_sid.clone(),
        default_conversation_creator_role_sid: channel_admin.sid.clone(),
        default_conversation_role_sid: channel_user.sid.clone(),
        default_chat_service_role_sid: service_user.sid.clone(),
        reachability_enabled: false,
    };
    vec![
        Mutation::PutService(service.clone()),
        Mutation::PutRole(service_admin),
        Mutation::PutRole(service_user),
        Mutation::PutRole(channel_admin),
        Mutation::PutRole(channel_user),
        Mutation::PutServiceConfig(config),
    ]
}

/// A new service record.
pub fn new_service(
    account: &crate::ids::AccountSid,
    friendly_name: String,
    now: Timestamp,
) -> ServiceRecord {
    ServiceRecord {
        sid: ServiceSid::generate(),
        account_sid: account.clone(),
        friendly_name,
        date_created: now,
        date_updated: now,
    }
}

/// The mutations creating `account` with its default service and Configuration.
pub fn new_account_unit(account: &AccountRecord) -> Vec<Mutation> {
    let service = new_service(
        &account.sid,
        "Default Conversations Service".into(),
        account.date_created,
    );
    let config = AccountConfigRecord {
        account_sid: account.sid.clone(),
        default_chat_service_sid: service.sid.clone(),
        default_messaging_service_sid: None,
        default_inactive_timer: None,
        default_closed_timer: None,
    };
    let mut unit = vec![Mutation::PutAccount(account.clone())];
    unit.extend(new_service_unit(&service));
    unit.push(Mutation::PutAccountConfig(config));
    unit
}
