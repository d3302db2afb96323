/** The four event types a room's log holds. */
export type EventType = 'room.created' | 'message.posted' | 'message.edited' | 'message.deleted';

export interface EventDataByType {
  'room.created': { name: string };
  'message.posted': { text: string };
  'message.edited': { seq: number; text: string };
  'message.deleted': { seq: number };
}

export interface Actor {
  id: string;
  username: string;
}

/**
 * The public event envelope (CONTRACT.md "Event envelope"). `seq` starts at 1 with
 * `room.created` and is gap-free per room; `ts` is ISO-8601 UTC with milliseconds.
 */
export interface EventEnvelope<T extends EventType = EventType> {
  roomId: string;
  seq: number;
  type: T;
  ts: string;
  actor: Actor | null;
  data: EventDataByType[T];
  clientMsgId?: string;
}

export const EVENT_TYPES: readonly EventType[] = [
  'room.created',
  'message.posted',
  'message.edited',
  'message.deleted',
];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}
