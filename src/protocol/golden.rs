//! Golden copy of every frame the server sends (tests/golden/frames.json): a wire change shows
//! up in review. Regenerate with `UPDATE_GOLDEN=1 cargo test --lib protocol`.

use serde_json::{Value, json};

use super::*;
use crate::conversations::events::StateReason;
use crate::store::records::*;

fn sid<T: std::str::FromStr>(prefix: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("{prefix}{}", "a".repeat(32)).parse().expect("sid")
}

fn conversation() -> ConversationRecord {
    ConversationRecord {
        sid: sid("CH"),
        account_sid: sid("AC"),
        service_sid: sid("IS"),
        messaging_service_sid: None,
        friendly_name: Some("Order 1234".into()),
        unique_name: None,
        attributes: "{}".into(),
        state: ConversationState::Active,
        timers: Timers::default(),
        bindings: json!({}),
        date_created: 1_450_304_317,
        date_updated: 1_450_304_318,
    }
}

fn participant() -> ParticipantRecord {
    ParticipantRecord {
        sid: sid("MB"),
        account_sid: sid("AC"),
        service_sid: sid("IS"),
        conversation_sid: sid("CH"),
        identity: Some("alice".into()),
        attributes: "{}".into(),
        messaging_binding: None,
        role_sid: Some(sid("RL")),
        last_read_message_index: Some(3),
        last_read_timestamp: Some("2015-12-16T22:18:38Z".into()),
        notification_level: None,
        date_created: 1_450_304_317,
        date_updated: 1_450_304_318,
    }
}

fn message() -> MessageRecord {
    MessageRecord {
        sid: sid("IM"),
        account_sid: sid("AC"),
        service_sid: sid("IS"),
        conversation_sid: sid("CH"),
        index: 4,
        author: "alice".into(),
        body: Some("Hello".into()),
        subject: None,
        attributes: "{}".into(),
        participant_sid: Some(sid("MB")),
        media: Some(vec![MediaRef {
            sid: sid("ME"),
            size: 1024,
            content_type: "image/png".into(),
            filename: Some("photo.png".into()),
        }]),
        content_sid: None,
        client_message_id: Some("alice:6f1c2d".into()),
        delivery: None,
        date_created: 1_450_304_317,
        date_updated: 1_450_304_318,
    }
}

fn parse(frame: ByteString) -> Value {
    serde_json::from_str(&frame).expect("frames are JSON")
}

#[test]
fn frames_match_the_golden_file() {
    use ConversationEvent::*;
    let (c, p, m) = (conversation(), participant(), message());
    let id = json!(7);
    let session = json(Session {
        session_id: "WSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        protocol: VERSION,
        identity: "alice",
        role: "agent",
        account_sid: &c.account_sid,
        chat_service_sid: &c.service_sid,
        expires_at: "2015-12-16T23:18:37Z".into(),
        max_frame_bytes: 65536,
        conversations: vec![Summary {
            conversation: (&c).into(),
            participant: Some((&p).into()),
            last_message_index: Some(4),
        }],
    });
    let summary = json(Summary {
        conversation: (&c).into(),
        participant: None,
        last_message_index: Some(4),
    });
    let event = |e: ConversationEvent| parse(event_frame(&e, 5000));
    let frames = json!({
        "reply.hello": parse(reply(&id, session)),
        "reply.send": parse(reply(&id, json!({ "message": Message::from(&m) }))),
        "reply.monitor": parse(reply(&id, summary.clone())),
        "error": parse(error(&id, &ApiError::Forbidden("only supervisors may monitor conversations".into()))),
        "event.conversation_joined": parse(conversation_event("conversation_joined", &c.sid, json(Summary {
            conversation: (&c).into(),
            participant: Some((&p).into()),
            last_message_index: None,
        }))),
        "event.conversation_left": parse(conversation_event("conversation_left", &c.sid, json!({ "participant": Participant::from(&p) }))),
        "event.conversation_updated": event(ConversationUpdated(c.clone())),
        "event.conversation_state_updated": event(StateUpdated {
            conversation: c.clone(),
            from: ConversationState::Inactive,
            reason: StateReason::Event,
        }),
        "event.conversation_removed": event(ConversationRemoved(c.clone())),
        "event.participant_added": event(ParticipantAdded(p.clone())),
        "event.participant_updated": event(ParticipantUpdated(p.clone())),
        "event.participant_removed": event(ParticipantRemoved(p.clone())),
        "event.message_added": event(MessageAdded(m.clone())),
        "event.message_updated": event(MessageUpdated(m.clone())),
        "event.message_removed": event(MessageRemoved(m.clone())),
        "event.typing": event(Typing(p.clone())),
        "event.delivery_updated": event(DeliveryUpdated {
            message: MessageRecord {
                delivery: Some(crate::store::delivery::DeliveryCounts {
                    total: 2,
                    sent: 2,
                    delivered: 1,
                    ..Default::default()
                }),
                ..m.clone()
            },
            receipt: crate::store::delivery::ReceiptRecord {
                sid: sid("DY"),
                account_sid: sid("AC"),
                service_sid: sid("IS"),
                conversation_sid: sid("CH"),
                message_sid: sid("IM"),
                participant_sid: sid("MB"),
                channel_message_sid: None,
                status: crate::store::delivery::ReceiptStatus::Delivered,
                error_code: None,
                date_created: 1_450_304_317,
                date_updated: 1_450_304_318,
            },
        }),
        "event.token_expiring": parse(session_event("token_expiring", json!({ "expires_at": "2015-12-16T23:18:37Z" }))),
    });
    let rendered = serde_json::to_string_pretty(&frames).expect("json") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/frames.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &rendered).expect("write golden");
    }
    let golden = std::fs::read_to_string(&path).expect("golden file exists");
    assert_eq!(
        rendered, golden,
        "a WebSocket frame changed; review and regenerate the golden file"
    );
}

#[test]
fn client_frames_parse_and_bad_ones_are_refused() {
    let frame: Frame = serde_json::from_str(
        r#"{"type":"send","id":"a1","conversation_sid":"CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","body":"hi","client_message_id":"x"}"#,
    )
    .expect("send parses");
    assert_eq!(frame.id, json!("a1"));
    assert!(matches!(frame.command, Command::Send { .. }));
    let hello: Frame = serde_json::from_str(
        r#"{"type":"hello","id":1,"protocol":1,"resume":{"CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":41}}"#,
    )
    .expect("hello parses");
    match hello.command {
        Command::Hello { resume, .. } => {
            assert_eq!(resume.values().copied().collect::<Vec<_>>(), vec![41])
        }
        other => panic!("not hello: {other:?}"),
    }
    for bad in [
        r#"{"type":"launch","id":1}"#,
        r#"{"type":"send","id":1,"conversation_sid":"not-a-sid","body":"x"}"#,
        r#"{"type":"read","id":1,"conversation_sid":"CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","index":-1}"#,
        r#"{"type":"typing","id":1,"conversation_sid":"CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","extra":true}"#,
        r#"[1,2]"#,
    ] {
        assert!(
            serde_json::from_str::<Frame>(bad).is_err(),
            "{bad} should be refused"
        );
    }
}
