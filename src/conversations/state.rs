//! The rules of one conversation as a plain struct, with no actors and no I/O: every command is
//! first *planned* (validated, turned into the records, mutations and events it would produce)
//! and the actor applies the plan only once the store has committed it.

use crate::conversations::drafts::*;
use crate::conversations::events::{ConversationEvent, StateReason};
use crate::conversations::timers::iso_duration_secs;
use crate::error::ApiError;
use crate::ids::{ConversationSid, MessageSid, ParticipantSid, has_sid_shape};
use crate::store::Mutation;
use crate::store::records::*;

/// What a command would do: the resulting value, what to persist and what to announce.
#[derive(Debug)]
pub struct Plan<T> {
    /// The command's result.
    pub value: T,
    /// The atomic unit to commit.
    pub mutations: Vec<Mutation>,
    /// Events to publish after the commit, in order.
    pub events: Vec<ConversationEvent>,
    /// The conversation record after the change, if it changed.
    pub conversation: Option<ConversationRecord>,
}

/// One live conversation: its record, participants and next message index.
#[derive(Debug, Clone)]
pub struct Conversation {
    /// The conversation.
    pub record: ConversationRecord,
    /// Index of the next message.
    pub next_index: u64,
    /// Participants in join order.
    pub participants: Vec<ParticipantRecord>,
}

/// Builds a new conversation record from a validated draft.
pub fn new_conversation(
    scope: &Scope,
    draft: ConversationDraft,
    now: Timestamp,
) -> ConversationRecord {
    let created = draft.date_created.unwrap_or(now);
    let mut timers = Timers::default();
    set_timers(&mut timers, draft.timers_inactive, draft.timers_closed, now);
    ConversationRecord {
        sid: ConversationSid::generate(),
        account_sid: scope.account.clone(),
        service_sid: scope.service.clone(),
        messaging_service_sid: draft.messaging_service_sid,
        friendly_name: draft.friendly_name,
        unique_name: draft.unique_name,
        attributes: draft.attributes.unwrap_or_else(|| "{}".into()),
        state: draft.state.unwrap_or(ConversationState::Active),
        timers,
        bindings: draft.bindings.unwrap_or_else(|| serde_json::json!({})),
        date_created: created,
        date_updated: draft.date_updated.unwrap_or(created),
    }
}

/// Builds a new participant record from a validated draft.
pub fn new_participant(
    conversation: &ConversationRecord,
    draft: ParticipantDraft,
    now: Timestamp,
) -> ParticipantRecord {
    let created = draft.date_created.unwrap_or(now);
    ParticipantRecord {
        sid: ParticipantSid::generate(),
        account_sid: conversation.account_sid.clone(),
        service_sid: conversation.service_sid.clone(),
        conversation_sid: conversation.sid.clone(),
        identity: draft.identity,
        attributes: draft.attributes.unwrap_or_else(|| "{}".into()),
        messaging_binding: draft.binding,
        role_sid: draft.role_sid,
        last_read_message_index: None,
        last_read_timestamp: None,
        notification_level: None,
        date_created: created,
        date_updated: draft.date_updated.unwrap_or(created),
    }
}

fn set_timers(
    timers: &mut Timers,
    inactive: Option<TimerSpec>,
    closed: Option<TimerSpec>,
    now: Timestamp,
) {
    if let Some(spec) = inactive {
        timers.date_inactive = Some(now + spec.secs);
        timers.inactive = Some(spec.text);
    }
    if let Some(spec) = closed {
        timers.date_closed = Some(now + spec.secs);
        timers.closed = Some(spec.text);
    }
}

/// Restarts the configured timers after activity.
fn restart_timers(record: &mut ConversationRecord, now: Timestamp) {
    if let Some(secs) = record
        .timers
        .inactive
        .as_deref()
        .and_then(iso_duration_secs)
        && record.state == ConversationState::Active
    {
        record.timers.date_inactive = Some(now + secs);
    }
    if let Some(secs) = record.timers.closed.as_deref().and_then(iso_duration_secs) {
        record.timers.date_closed = Some(now + secs);
    }
}

/// Moves `record` to `to`, maintaining timers; returns the mutations this needs beyond the
/// conversation update itself.
fn transition(
    record: &mut ConversationRecord,
    to: ConversationState,
    now: Timestamp,
) -> Vec<Mutation> {
    record.state = to;
    match to {
        ConversationState::Closed => {
            record.timers.date_inactive = None;
            record.timers.date_closed = None;
            vec![Mutation::ReleaseBindings(record.sid.clone())]
        }
        ConversationState::Inactive => {
            record.timers.date_inactive = None;
            Vec::new()
        }
        ConversationState::Active => {
            restart_timers(record, now);
            Vec::new()
        }
        ConversationState::Initializing => Vec::new(),
    }
}

impl Conversation {
    /// Refuses callers outside the conversation's account and service.
    pub fn check_scope(&self, scope: &Scope) -> Result<(), ApiError> {
        if self.record.account_sid == scope.account && self.record.service_sid == scope.service {
            Ok(())
        } else {
            Err(ApiError::NotFound(format!(
                "/Conversations/{}",
                self.record.sid
            )))
        }
    }

    /// When the scope acts as a chat identity, that identity's participant (refused when it is
    /// not one); `None` for REST callers, who act for the whole account.
    pub fn check_participant(&self, scope: &Scope) -> Result<Option<&ParticipantRecord>, ApiError> {
        let Some(identity) = scope.identity.as_deref() else {
            return Ok(None);
        };
        self.participants
            .iter()
            .find(|p| p.identity.as_deref() == Some(identity))
            .map(Some)
            .ok_or_else(|| {
                ApiError::Forbidden(format!(
                    "{identity} is not a participant of {}",
                    self.record.sid
                ))
            })
    }

    fn check_open(&self) -> Result<(), ApiError> {
        if self.record.state == ConversationState::Closed {
            Err(ApiError::ConversationClosed(self.record.sid.to_string()))
        } else {
            Ok(())
        }
    }

    /// Finds a participant by SID or identity.
    pub fn participant(&self, key: &str) -> Option<&ParticipantRecord> {
        if has_sid_shape("MB", key) {
            self.participants
                .iter()
                .find(|p| p.sid.as_str().eq_ignore_ascii_case(key))
        } else {
            self.participants
                .iter()
                .find(|p| p.identity.as_deref() == Some(key))
        }
    }

    fn participant_not_found(&self, key: &str) -> ApiError {
        ApiError::NotFound(format!(
            "/Conversations/{}/Participants/{key}",
            self.record.sid
        ))
    }

    /// Plans an update of the conversation's fields or state.
    pub fn plan_update(
        &self,
        changes: ConversationChanges,
        now: Timestamp,
    ) -> Result<Plan<ConversationRecord>, ApiError> {
        self.check_open()?;
        let mut next = self.record.clone();
        let mut mutations = Vec::new();
        if let Some(v) = changes.friendly_name {
            next.friendly_name = v;
        }
        if let Some(v) = changes.unique_name {
            next.unique_name = v;
        }
        if let Some(v) = changes.attributes {
            next.attributes = v;
        }
        if let Some(v) = changes.messaging_service_sid {
            next.messaging_service_sid = Some(v);
        }
        if let Some(v) = changes.bindings {
            next.bindings = v;
        }
        if let Some(v) = changes.date_created {
            next.date_created = v;
        }
        set_timers(
            &mut next.timers,
            changes.timers_inactive,
            changes.timers_closed,
            now,
        );
        let from = self.record.state;
        if let Some(to) = changes.state
            && to != from
        {
            mutations.extend(transition(&mut next, to, now));
        }
        next.date_updated = changes.date_updated.unwrap_or(now);
        mutations.insert(0, Mutation::UpdateConversation(next.clone()));
        let mut events = vec![ConversationEvent::ConversationUpdated(next.clone())];
        if next.state != from {
            events.push(ConversationEvent::StateUpdated {
                conversation: next.clone(),
                from,
                reason: StateReason::Api,
            });
        }
        Ok(Plan {
            value: next.clone(),
            mutations,
            events,
            conversation: Some(next),
        })
    }

    /// Plans the deletion of the conversation and everything in it.
    pub fn plan_delete(&self) -> Plan<()> {
        Plan {
            value: (),
            mutations: vec![Mutation::DeleteConversation(self.record.sid.clone())],
            events: vec![ConversationEvent::ConversationRemoved(self.record.clone())],
            conversation: None,
        }
    }

    /// Plans the state changes of timers that are due at `now`, if any.
    pub fn plan_timers(&self, now: Timestamp) -> Option<Plan<()>> {
        let from = self.record.state;
        let mut next = self.record.clone();
        let mut mutations = Vec::new();
        if next.timers.date_closed.is_some_and(|t| t <= now) && from != ConversationState::Closed {
            mutations.extend(transition(&mut next, ConversationState::Closed, now));
        } else if next.timers.date_inactive.is_some_and(|t| t <= now)
            && from == ConversationState::Active
        {
            mutations.extend(transition(&mut next, ConversationState::Inactive, now));
        } else {
            return None;
        }
        next.date_updated = now;
        mutations.insert(0, Mutation::UpdateConversation(next.clone()));
        Some(Plan {
            value: (),
            mutations,
            events: vec![ConversationEvent::StateUpdated {
                conversation: next.clone(),
                from,
                reason: StateReason::Timer,
            }],
            conversation: Some(next),
        })
    }

    /// Plans adding a participant, refusing duplicate identities and address pairs.
    pub fn plan_add_participant(
        &self,
        draft: ParticipantDraft,
        now: Timestamp,
    ) -> Result<Plan<ParticipantRecord>, ApiError> {
        self.check_open()?;
        if let Some(identity) = &draft.identity
            && self
                .participants
                .iter()
                .any(|p| p.identity.as_deref() == Some(identity))
        {
            return Err(ApiError::ParticipantIdentityTaken);
        }
        if let Some(MessagingBinding {
            address: Some(a),
            proxy_address: Some(pa),
            ..
        }) = &draft.binding
        {
            let same = |p: &&ParticipantRecord| {
                p.messaging_binding.as_ref().is_some_and(|b| {
                    b.address.as_deref() == Some(a.as_str())
                        && b.proxy_address.as_deref() == Some(pa.as_str())
                })
            };
            if self.participants.iter().any(|p| same(&p)) {
                return Err(ApiError::AddressPairTaken(self.record.sid.to_string()));
            }
        }
        let participant = new_participant(&self.record, draft, now);
        let mut mutations = vec![Mutation::InsertParticipant(participant.clone())];
        let mut events = vec![ConversationEvent::ParticipantAdded(participant.clone())];
        let conversation = self.activity(now, &mut mutations, &mut events);
        Ok(Plan {
            value: participant,
            mutations,
            events,
            conversation,
        })
    }

    /// Plans changes to a participant.
    pub fn plan_update_participant(
        &self,
        key: &str,
        changes: ParticipantChanges,
        now: Timestamp,
    ) -> Result<Plan<ParticipantRecord>, ApiError> {
        self.check_open()?;
        let current = self
            .participant(key)
            .ok_or_else(|| self.participant_not_found(key))?;
        let mut next = current.clone();
        if let Some(identity) = changes.identity {
            if next.identity.is_some() && next.identity.as_deref() != Some(identity.as_str()) {
                return Err(ApiError::invalid(
                    "Identity",
                    "the participant already has an identity",
                ));
            }
            if self
                .participants
                .iter()
                .any(|p| p.sid != next.sid && p.identity.as_deref() == Some(identity.as_str()))
            {
                return Err(ApiError::ParticipantIdentityTaken);
            }
            next.identity = Some(identity);
        }
        if let Some(v) = changes.attributes {
            next.attributes = v;
        }
        if let Some(v) = changes.role_sid {
            next.role_sid = Some(v);
        }
        if changes.proxy_address.is_some() || changes.projected_address.is_some() {
            let Some(binding) = next.messaging_binding.as_mut() else {
                return Err(ApiError::invalid(
                    "MessagingBinding.ProxyAddress",
                    "a chat participant has no messaging binding",
                ));
            };
            if let Some(v) = changes.proxy_address {
                binding.proxy_address = Some(v);
            }
            if let Some(v) = changes.projected_address {
                binding.projected_address = Some(v);
            }
        }
        if let Some(v) = changes.last_read_message_index {
            next.last_read_message_index = v;
        }
        if let Some(v) = changes.last_read_timestamp {
            next.last_read_timestamp = v;
        }
        if let Some(v) = changes.notification_level {
            next.notification_level = Some(v);
        }
        if let Some(v) = changes.date_created {
            next.date_created = v;
        }
        next.date_updated = changes.date_updated.unwrap_or(now);
        Ok(Plan {
            value: next.clone(),
            mutations: vec![Mutation::UpdateParticipant(next.clone())],
            events: vec![ConversationEvent::ParticipantUpdated(next)],
            conversation: None,
        })
    }

    /// Plans removing a participant.
    pub fn plan_remove_participant(&self, key: &str) -> Result<Plan<ParticipantRecord>, ApiError> {
        let current = self
            .participant(key)
            .ok_or_else(|| self.participant_not_found(key))?;
        Ok(Plan {
            value: current.clone(),
            mutations: vec![Mutation::DeleteParticipant(current.sid.clone())],
            events: vec![ConversationEvent::ParticipantRemoved(current.clone())],
            conversation: None,
        })
    }

    /// Plans a new message at the next index. Activity reactivates an inactive conversation
    /// and restarts its timers.
    pub fn plan_message(
        &self,
        draft: MessageDraft,
        now: Timestamp,
    ) -> Result<Plan<MessageRecord>, ApiError> {
        self.check_open()?;
        let author = draft.author.unwrap_or_else(|| "system".into());
        let participant_sid = self
            .participants
            .iter()
            .find(|p| {
                p.identity.as_deref() == Some(author.as_str())
                    || p.messaging_binding
                        .as_ref()
                        .and_then(|b| b.address.as_deref())
                        == Some(author.as_str())
            })
            .map(|p| p.sid.clone());
        let created = draft.date_created.unwrap_or(now);
        let message = MessageRecord {
            sid: MessageSid::generate_ordered(),
            account_sid: self.record.account_sid.clone(),
            service_sid: self.record.service_sid.clone(),
            conversation_sid: self.record.sid.clone(),
            index: self.next_index,
            author,
            body: draft.body,
            subject: draft.subject,
            attributes: draft.attributes.unwrap_or_else(|| "{}".into()),
            participant_sid,
            media: draft.media,
            content_sid: draft.content_sid,
            client_message_id: draft.client_message_id,
            delivery: None,
            date_created: created,
            date_updated: draft.date_updated.unwrap_or(created),
        };
        let mut mutations = vec![Mutation::AppendMessage(message.clone())];
        let mut events = vec![ConversationEvent::MessageAdded(message.clone())];
        let conversation = self.activity(now, &mut mutations, &mut events);
        Ok(Plan {
            value: message,
            mutations,
            events,
            conversation,
        })
    }

    /// Activity: an inactive conversation becomes active; configured timers restart.
    fn activity(
        &self,
        now: Timestamp,
        mutations: &mut Vec<Mutation>,
        events: &mut Vec<ConversationEvent>,
    ) -> Option<ConversationRecord> {
        let from = self.record.state;
        let has_timers =
            self.record.timers.inactive.is_some() || self.record.timers.closed.is_some();
        if from != ConversationState::Inactive && !has_timers {
            return None;
        }
        let mut next = self.record.clone();
        if from == ConversationState::Inactive {
            mutations.extend(transition(&mut next, ConversationState::Active, now));
            next.date_updated = now;
            events.push(ConversationEvent::StateUpdated {
                conversation: next.clone(),
                from,
                reason: StateReason::Event,
            });
        } else {
            restart_timers(&mut next, now);
        }
        mutations.push(Mutation::UpdateConversation(next.clone()));
        Some(next)
    }

    /// Plans an edit of a stored message.
    pub fn plan_edit_message(
        &self,
        current: &MessageRecord,
        changes: MessageChanges,
        now: Timestamp,
    ) -> Result<Plan<MessageRecord>, ApiError> {
        self.check_open()?;
        let mut next = current.clone();
        if let Some(v) = changes.author {
            next.author = v;
        }
        if let Some(v) = changes.body {
            next.body = Some(v);
        }
        if let Some(v) = changes.subject {
            next.subject = Some(v);
        }
        if let Some(v) = changes.attributes {
            next.attributes = v;
        }
        if let Some(v) = changes.date_created {
            next.date_created = v;
        }
        next.date_updated = changes.date_updated.unwrap_or(now);
        Ok(Plan {
            value: next.clone(),
            mutations: vec![Mutation::UpdateMessage(next.clone())],
            events: vec![ConversationEvent::MessageUpdated(next)],
            conversation: None,
        })
    }

    /// Plans the deletion of a stored message; its index is never reused.
    pub fn plan_delete_message(&self, current: &MessageRecord) -> Plan<()> {
        Plan {
            value: (),
            mutations: vec![Mutation::DeleteMessage(current.sid.clone())],
            events: vec![ConversationEvent::MessageRemoved(current.clone())],
            conversation: None,
        }
    }

    /// Applies the conversation-level effects of a committed plan.
    pub fn commit_conversation(&mut self, record: Option<ConversationRecord>) {
        if let Some(record) = record {
            self.record = record;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountSid, ServiceSid};

    fn conversation() -> Conversation {
        let scope = Scope {
            account: AccountSid::generate(),
            service: ServiceSid::generate(),
            identity: None,
            source: crate::conversations::drafts::Source::Sdk,
        };
        Conversation {
            record: new_conversation(&scope, ConversationDraft::default(), 1000),
            next_index: 0,
            participants: vec![],
        }
    }

    #[test]
    fn messages_take_the_next_index_and_find_their_participant() {
        let mut c = conversation();
        let p = c
            .plan_add_participant(
                ParticipantDraft {
                    identity: Some("alice".into()),
                    ..Default::default()
                },
                1000,
            )
            .expect("added");
        c.participants.push(p.value.clone());
        c.next_index = 7;
        let plan = c
            .plan_message(
                MessageDraft {
                    author: Some("alice".into()),
                    body: Some("hi".into()),
                    ..Default::default()
                },
                1001,
            )
            .expect("planned");
        assert_eq!(plan.value.index, 7);
        assert_eq!(plan.value.participant_sid, Some(p.value.sid));
        assert!(
            plan.conversation.is_none(),
            "no timers, no state change: conversation untouched"
        );
    }

    #[test]
    fn duplicate_identity_is_refused() {
        let mut c = conversation();
        let draft = ParticipantDraft {
            identity: Some("bob".into()),
            ..Default::default()
        };
        let p = c.plan_add_participant(draft.clone(), 1000).expect("added");
        c.participants.push(p.value);
        assert_eq!(
            c.plan_add_participant(draft, 1000).err(),
            Some(ApiError::ParticipantIdentityTaken)
        );
    }

    #[test]
    fn timers_move_active_to_inactive_then_closed() {
        let mut c = conversation();
        let plan = c
            .plan_update(
                ConversationChanges {
                    timers_inactive: Some(TimerSpec {
                        text: "PT1M".into(),
                        secs: 60,
                    }),
                    timers_closed: Some(TimerSpec {
                        text: "PT10M".into(),
                        secs: 600,
                    }),
                    ..Default::default()
                },
                1000,
            )
            .expect("planned");
        c.commit_conversation(plan.conversation);
        assert!(c.plan_timers(1059).is_none());
        let plan = c.plan_timers(1060).expect("inactive due");
        c.commit_conversation(plan.conversation);
        assert_eq!(c.record.state, ConversationState::Inactive);
        // A message reactivates it and restarts the inactivity timer.
        let plan = c
            .plan_message(
                MessageDraft {
                    body: Some("x".into()),
                    ..Default::default()
                },
                1100,
            )
            .expect("ok");
        let next = plan.conversation.expect("reactivated");
        assert_eq!(next.state, ConversationState::Active);
        assert_eq!(next.timers.date_inactive, Some(1160));
        c.commit_conversation(Some(next));
        let plan = c.plan_timers(1100 + 600).expect("closed due");
        c.commit_conversation(plan.conversation);
        assert_eq!(c.record.state, ConversationState::Closed);
        assert!(matches!(
            c.plan_message(MessageDraft::default(), 2000),
            Err(ApiError::ConversationClosed(_))
        ));
    }
}
