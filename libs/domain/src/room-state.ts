import type { EventEnvelope } from './events';
import { DedupWindow, dedupKey, MessageWindow, type CommittedRef, type MessageInfo } from './room-windows';

export { DedupWindow, dedupKey, MessageWindow, type CommittedRef, type MessageInfo };

/**
 * The folded state of one room as its owning gateway holds it. It is deliberately bounded:
 * only a window of recent messages and recent client message ids is kept, so memory, snapshot
 * size and resume time do not grow with a room's total history. Anything older is answered
 * from the log itself (see RoomActor). The windows' layout is in room-windows.ts.
 */
export interface RoomState {
  roomId: string;
  name: string;
  headSeq: number;
  /** seq → author/deleted for the most recent `MESSAGE_WINDOW` messages. */
  messages: MessageWindow;
  /** dedupKey(actorId, clientMsgId) → first result, for the most recent `DEDUP_WINDOW` sends. */
  sent: DedupWindow;
}

export const MESSAGE_WINDOW = 5_000;
export const DEDUP_WINDOW = 10_000;

export function emptyRoomState(roomId: string): RoomState {
  return { roomId, name: '', headSeq: 0, messages: new MessageWindow(MESSAGE_WINDOW), sent: new DedupWindow(DEDUP_WINDOW) };
}

/**
 * Folds one committed event into the state. Deterministic and free of I/O; it updates `state`
 * in place (it runs on every commit, so it must not copy bounded-but-large maps) and returns it.
 * Events must arrive in seq order; an event at or below the head is ignored so a replay that
 * overlaps a snapshot gives the same state.
 */
export function applyEvent(state: RoomState, event: EventEnvelope): RoomState {
  if (event.seq <= state.headSeq) return state;
  if (event.seq !== state.headSeq + 1) {
    throw new Error(`room ${state.roomId}: event seq ${event.seq} does not follow head ${state.headSeq}`);
  }
  state.headSeq = event.seq;
  switch (event.type) {
    case 'room.created':
      state.name = (event.data as { name: string }).name;
      break;
    case 'message.posted':
      state.messages.add(event.seq, event.actor?.id ?? null);
      break;
    case 'message.edited':
      break;
    case 'message.deleted':
      state.messages.markDeleted((event.data as { seq: number }).seq);
      break;
  }
  if (event.clientMsgId && event.actor) {
    state.sent.set(dedupKey(event.actor.id, event.clientMsgId), event.seq, event.ts);
  }
  return state;
}

export type ModifyVerdict = 'ok' | 'forbidden' | 'not_found' | 'unknown';

/**
 * Decides whether `userId` may edit or delete the message at `seq`, from the in-memory window.
 * `unknown` means the message is older than the window and the caller must ask the log.
 */
export function canModify(
  state: RoomState,
  seq: number,
  userId: string,
  action: 'edit' | 'delete',
  isAdmin: boolean,
): ModifyVerdict {
  if (seq > state.headSeq) return 'not_found';
  const info = state.messages.get(seq);
  if (!info) {
    const oldest = state.messages.oldestSeq();
    return oldest !== undefined && seq > oldest ? 'not_found' : 'unknown';
  }
  return judge(info, userId, action, isAdmin);
}

/** The same rule as `canModify`, for a message looked up in the log. */
export function judge(info: MessageInfo, userId: string, action: 'edit' | 'delete', isAdmin: boolean): ModifyVerdict {
  if (info.deleted) return 'not_found';
  if (info.authorId === userId) return 'ok';
  if (action === 'delete' && isAdmin) return 'ok';
  return 'forbidden';
}
