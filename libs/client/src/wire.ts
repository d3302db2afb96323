import type { Socket } from 'socket.io-client';
import type { AckError, ClientToServerEvents, CommitAck, PresenceUser, SendPayload, ServerToClientEvents } from '../../domain/src/socket-events.js';

/**
 * Socket events of CONTRACT.md that `libs/domain` does not type yet because the server does not
 * handle them yet (reactions, typing, read markers, replies: the conversation issue; kicks: the
 * members issue). They are declared here, and only here, so the library can send them today and
 * report the server's answer faithfully; each one moves into `libs/domain`'s maps when its server
 * side lands (an identical declaration in both places intersects harmlessly meanwhile).
 */
export interface PendingClientToServerEvents {
  'reaction:add': (payload: ReactionPayload, ack: (res: ReactionAck | AckError) => void) => void;
  'reaction:remove': (payload: ReactionPayload, ack: (res: ReactionAck | AckError) => void) => void;
  typing: (payload: { active: boolean }, ack: (res: { ok: true } | AckError) => void) => void;
}

export interface PendingServerToClientEvents {
  'room:typing': (payload: { users: PresenceUser[] }) => void;
  'room:kicked': (payload: { roomId: string; reason: string }) => void;
}

export interface ReactionPayload {
  seq: number;
  emoji: string;
}

/** `seq: null`: the reaction was already there (or already gone), nothing was written. */
export type ReactionAck = CommitAck | { ok: true; seq: null };

/** `message:send` with the contract's optional `replyTo` (pending server support). */
export type SendWirePayload = SendPayload & { replyTo?: number };

export type WireClientToServer = ClientToServerEvents & PendingClientToServerEvents;
export type WireServerToClient = ServerToClientEvents & PendingServerToClientEvents;
export type WireSocket = Socket<WireServerToClient, WireClientToServer>;
