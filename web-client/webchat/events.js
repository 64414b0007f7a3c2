/**
 * What each server event does to the widget's chat state (docs/protocol.md § events), as one
 * pure function: `ChatSession` feeds it the frames of its conversation and applies the patch.
 * No DOM, no network, no clock (`now` is a parameter), so `node --test` covers it.
 */

import {
  applyParticipant,
  mergeMessages,
  participantNotice,
  placeNotice,
  removeMessage,
  startTyping,
  stopTyping,
} from './model.js';

/**
 * The change a conversation event makes.
 * @param {{record: {identity: string}, messages: object[], notices: object[],
 *   participants: Map<string, object>, typing: Map<string, object>, unread: number}} state
 * @param {{event: string, data: any}} frame
 * @param {{now: number, visible: boolean}} context `visible`: the customer sees the list
 * @returns {{patch: object, ended: boolean}} `ended`: the chat is over for the customer
 */
export function applyEvent(state, { event, data }, { now, visible }) {
  const guest = state.record.identity;
  switch (event) {
    case 'message_added':
    case 'message_updated': {
      const patch = {
        messages: mergeMessages(state.messages, [data]),
        typing: stopTyping(state.typing, now, data?.author),
      };
      if (event === 'message_added' && data?.author !== guest && !visible) patch.unread = state.unread + 1;
      return { patch, ended: false };
    }
    case 'message_removed':
      return { patch: { messages: removeMessage(state.messages, data?.index) }, ended: false };
    case 'typing':
      return {
        patch: { typing: startTyping(state.typing, data, { guestIdentity: guest, participants: state.participants, now }) },
        ended: false,
      };
    case 'participant_added':
    case 'participant_updated':
    case 'participant_removed': {
      const patch = { participants: applyParticipant(state.participants, event, data) };
      const notice = participantNotice(event, data, guest);
      if (notice) patch.notices = [...state.notices, placeNotice(notice, state.messages, now)];
      return { patch, ended: event === 'participant_removed' && data?.identity === guest };
    }
    case 'conversation_updated':
      return { patch: {}, ended: data?.state === 'closed' };
    case 'conversation_state_updated':
      return { patch: {}, ended: data?.conversation?.state === 'closed' };
    case 'conversation_left':
    case 'conversation_removed':
      return { patch: {}, ended: true };
    default:
      return { patch: {}, ended: false };
  }
}
