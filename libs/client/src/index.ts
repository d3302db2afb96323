/**
 * The client library of durable-rooms (CONTRACT.md "Client library"): browsers and Node 20+,
 * runtime dependency `socket.io-client` only. Wire types come from `libs/domain`.
 */
export { createClient, type Client, type ClientOptions } from './client.js';
export { RoomHandle, type ConnectionState, type JoinResult, type MemberResult, type RoomHandleEvents, type SendResult, type StateDetail } from './room-handle.js';
export { ClientError, isFinal, type ClientErrorCode } from './client-error.js';
export { MemoryOutboxStorage, WebStorageOutboxStorage, type OutboxEntry, type OutboxStorage, type StorageLike } from './outbox.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { InOrderDelivery } from './in-order-delivery.js';
export type { ConnectionInfo, EventsPage } from './http-api.js';
export type { PendingClientToServerEvents, PendingServerToClientEvents } from './wire.js';
export type { EventEnvelope, EventType } from '../../domain/src/events.js';
export type { PresenceUser } from '../../domain/src/socket-events.js';
