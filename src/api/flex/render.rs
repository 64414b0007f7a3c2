//! Flex records → Twilio JSON (twilio-api.md §6), field names as Twilio's OpenAPI spec has
//! them; `url`/`links` built from `base` (`http://host/flex-api/v1`).

use serde_json::{Value, json};

use crate::api::params::format_datetime as date;
use crate::interactions::records::*;

/// An interaction, with the echo of its task under `routing.properties`.
pub fn interaction(base: &str, i: &Interaction, task: Value) -> Value {
    let url = format!("{base}/Interactions/{}", i.sid);
    json!({
        "sid": i.sid,
        "channel": {"type": i.channel_type, "sid": i.channel_sid},
        "routing": {"reservation": Value::Null, "properties": task},
        "interaction_context_sid": i.interaction_context_sid,
        "webhook_ttid": i.webhook_ttid,
        "links": {"channels": format!("{url}/Channels")},
        "url": url,
    })
}

/// An interaction channel.
pub fn channel(base: &str, c: &Channel) -> Value {
    let url = format!(
        "{base}/Interactions/{}/Channels/{}",
        c.interaction_sid, c.sid
    );
    json!({
        "sid": c.sid,
        "interaction_sid": c.interaction_sid,
        "type": c.channel_type,
        "status": c.status,
        "error_code": c.error_code,
        "error_message": c.error_message,
        "links": {
            "participants": format!("{url}/Participants"),
            "invites": format!("{url}/Invites"),
            "transfers": format!("{url}/Transfers"),
        },
        "url": url,
    })
}

/// A channel participant.
pub fn participant(base: &str, p: &ChannelParticipant) -> Value {
    json!({
        "sid": p.sid,
        "type": p.kind,
        "status": p.status,
        "interaction_sid": p.interaction_sid,
        "channel_sid": p.channel_sid,
        "media_properties": p.media_properties,
        "routing_properties": p.routing_properties,
        "url": format!(
            "{base}/Interactions/{}/Channels/{}/Participants/{}",
            p.interaction_sid, p.channel_sid, p.sid
        ),
    })
}

/// An invite.
pub fn invite(base: &str, i: &Invite) -> Value {
    json!({
        "sid": i.sid,
        "interaction_sid": i.interaction_sid,
        "channel_sid": i.channel_sid,
        "routing": i.routing,
        "url": format!(
            "{base}/Interactions/{}/Channels/{}/Invites/{}",
            i.interaction_sid, i.channel_sid, i.sid
        ),
    })
}

/// A transfer.
pub fn transfer(base: &str, t: &Transfer) -> Value {
    json!({
        "sid": t.sid,
        "instance_sid": Value::Null,
        "account_sid": t.account_sid,
        "interaction_sid": t.interaction_sid,
        "channel_sid": t.channel_sid,
        "execution_sid": Value::Null,
        "type": t.kind,
        "status": t.status,
        "from": t.from,
        "to": t.to,
        "task_sid": t.task_sid,
        "note_sid": Value::Null,
        "summary_sid": Value::Null,
        "date_created": date(t.created),
        "date_updated": date(t.updated),
        "url": format!(
            "{base}/Interactions/{}/Channels/{}/Transfers/{}",
            t.interaction_sid, t.channel_sid, t.sid
        ),
    })
}
