import type { Socket } from 'socket.io-client';
import type { AckError, ClientToServerEvents, ReactionAck, ReactionPayload, SendPayload, ServerToClientEvents } from '../../domain/src/socket-events.js';

export type { ReactionAck, ReactionPayload };

/**
 * Socket events of CONTRACT.md that `libs/domain` does not type yet. None is left: replies,
 * reactions, typing, read markers and kicks are all served and typed in `libs/domain`. A command
 * the contract gains before its server side lands is declared here, and only here, so the library
 * can send it and report the server's answer faithfully.
 */
export type PendingClientToServerEvents = Record<never, never>;

/** Every server-to-client event of CONTRACT.md is typed in `libs/domain` now. */
export type PendingServerToClientEvents = Record<never, never>;

/** `message:send` as sent: the contract's payload with its optional `replyTo`. */
export type SendWirePayload = SendPayload;

export type WireClientToServer = ClientToServerEvents & PendingClientToServerEvents;
export type WireServerToClient = ServerToClientEvents & PendingServerToClientEvents;
export type WireSocket = Socket<WireServerToClient, WireClientToServer>;
