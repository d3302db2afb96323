import type { Socket } from 'socket.io-client';
import type { AckError, ClientToServerEvents, ReactionAck, ReactionPayload, SendPayload, ServerToClientEvents } from '../../domain/src/socket-events.js';

export type { ReactionAck, ReactionPayload };

/**
 * Socket events of CONTRACT.md that `libs/domain` does not type yet because the server does not
 * handle them yet (read markers: the other half of the conversation issue). They are declared
 * here, and only here, so the library can send them today and report the server's answer
 * faithfully; each one moves into `libs/domain`'s maps when its server side lands (an identical
 * declaration in both places intersects harmlessly meanwhile). Replies, reactions and typing are
 * typed from `libs/domain` now.
 */
export interface PendingClientToServerEvents {
  'read:mark': (payload: { seq: number }, ack: (res: { ok: true; lastReadSeq: number } | AckError) => void) => void;
}

/** Every server-to-client event of CONTRACT.md is typed in `libs/domain` now. */
export type PendingServerToClientEvents = Record<never, never>;

/** `message:send` as sent: the contract's payload with its optional `replyTo`. */
export type SendWirePayload = SendPayload;

export type WireClientToServer = ClientToServerEvents & PendingClientToServerEvents;
export type WireServerToClient = ServerToClientEvents & PendingServerToClientEvents;
export type WireSocket = Socket<WireServerToClient, WireClientToServer>;
