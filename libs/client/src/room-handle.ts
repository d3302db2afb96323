import type { EventEnvelope } from '../../domain/src/events.js';
import type { JoinAck, PresenceUser } from '../../domain/src/socket-events.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { ClientError, isFinal, type ClientErrorCode } from './client-error.js';
import { Emitter } from './emitter.js';
import type { EventsPage, HttpApi } from './http-api.js';
import { InOrderDelivery } from './in-order-delivery.js';
import { Outbox, OutboxFullError, type OutboxEntry } from './outbox.js';
import type { ReactionAck, SendWirePayload, WireSocket } from './wire.js';

/**
 * `connecting`: the first connection is being made. `connected`: joined, commands go out.
 * `moving`: the server said `room:moved` (drain, failover, idle) and the client is following.
 * `reconnecting`: the connection was lost or refused and the client is retrying with backoff.
 * `offline`: not joined and not about to be: before `join()`, after `close()`, after a final
 * error, or after `offlineAfterMs` of failed retries (it keeps retrying at the backoff's cap).
 */
export type ConnectionState = 'connecting' | 'connected' | 'moving' | 'reconnecting' | 'offline';

export interface StateDetail {
  /** Why the state changed (the server's `room:moved` reason, a disconnect reason, an error). */
  reason?: string;
  /** The gateway now serving the room (`connected`) or the one just lost. */
  gatewayId?: string;
}

export interface RoomHandleEvents {
  /** Every room event, exactly once, in seq order, across every move and reconnect. */
  event: (event: EventEnvelope) => void;
  presence: (users: PresenceUser[]) => void;
  /** Who is typing (`room:typing`), whenever that set changes. */
  typing: (users: PresenceUser[]) => void;
  state: (state: ConnectionState, detail: StateDetail) => void;
  /** Removed or banned (`room:kicked`): the handle is offline for good. */
  kicked: (payload: { roomId: string; reason: string }) => void;
  /** A message of the outbox was committed (also for messages restored from storage). */
  sent: (result: { clientMsgId: string; seq: number; ts: string }) => void;
  /** A failure no promise was waiting for (a restored message refused, history paging failed). */
  error: (error: ClientError) => void;
}

export interface JoinResult {
  room: { id: string; name: string; headSeq: number };
}

/** The ack of a membership command: the committed event's seq, or `null` when nothing changed. */
export interface MemberResult {
  seq: number | null;
  ts?: string;
}

/** The one-shot commands (everything but `room:join` and `message:send`, which have their own paths). */
type CommandEvent =
  | 'message:edit'
  | 'message:delete'
  | 'reaction:add'
  | 'reaction:remove'
  | 'typing'
  | 'read:mark'
  | 'room:leave'
  | 'member:invite'
  | 'member:role'
  | 'member:remove'
  | 'member:ban'
  | 'member:unban'
  | 'member:mute';

export interface SendResult {
  seq: number;
  ts: string;
  clientMsgId: string;
}

export interface RoomHandleOptions {
  /** An ack slower than this counts as a lost connection (sends) or fails the command, ms. */
  ackTimeoutMs: number;
  /** Bound on one handshake with a gateway, ms. */
  connectTimeoutMs: number;
  backoff: BackoffOptions;
  /** After this long without a connection, `state` says `offline`, ms. */
  offlineAfterMs: number;
  /** Events held ahead of a gap at most. */
  maxBufferedEvents: number;
  /** Page size of history catch-up (the contract's maximum is 500). */
  catchUpPageSize: number;
}

export type OpenSocket = (url: string, ticket: string, timeoutMs: number) => Promise<WireSocket>;

interface Session {
  socket: WireSocket;
  gatewayId: string;
  index: number;
  alive: boolean;
  joined: boolean;
  joinedAt: number;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: ClientError) => void;
}

/**
 * One room, kept joined across gateway moves, kills and reloads. Created by `client.room(id)`.
 *
 * The recipe (CONTRACT.md "Client library"): on `room:moved`, a disconnect, a refused handshake, a
 * send whose ack does not come, or an `unavailable` / `room_moved` ack, it asks the API again
 * (`POST /rooms/:id/connection`) with bounded, jittered backoff, rejoins with `afterSeq` = the last
 * seq delivered, pages the rest over HTTP when the join says `hasMore`, and resends every outbox
 * message with its `clientMsgId`. `invalid`, `forbidden`, `not_found` (and a 401) are final.
 */
export class RoomHandle extends Emitter<RoomHandleEvents> {
  private currentState: ConnectionState = 'offline';
  private session: Session | undefined;
  private sessions = 0;
  private delivery: InOrderDelivery<EventEnvelope> | undefined;
  private startAfter: number | undefined;
  private joining: Promise<JoinResult> | undefined;
  private connecting: Promise<void> | undefined;
  private filling: Promise<void> | undefined;
  private roomInfo: JoinResult['room'] | undefined;
  /** Consecutive connection losses without a sign of health; spaces out flapping reconnects. */
  private troubles = 0;
  private lostAt = 0;
  private final: ClientError | undefined;
  private closed = false;
  /** clientMsgId → the callers waiting for it (two `send`s with one explicit clientMsgId share the result). */
  private readonly sendWaiters = new Map<string, Array<Waiter<SendResult>>>();
  /** clientMsgId → the session it is in flight on (never emitted twice on one connection). */
  private readonly inflight = new Map<string, number>();
  /**
   * Set by a `rate_limited` ack and kept until the outbox is empty: while it is set, sends wait in
   * the outbox and go out one at a time, oldest first, so one user's messages are committed in
   * the order they were sent. One timer at most, with the backoff of `attempt`.
   */
  private rateHold: { attempt: number; timer?: ReturnType<typeof setTimeout> } | undefined;
  private readonly connectedWaiters = new Set<Waiter<Session>>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly pauses = new Set<() => void>();

  constructor(
    readonly roomId: string,
    private readonly http: HttpApi,
    private readonly openSocket: OpenSocket,
    private readonly outbox: Outbox,
    private readonly options: RoomHandleOptions,
    private readonly onClose: () => void = () => undefined,
  ) {
    super();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The gateway serving the room while connected. */
  get gatewayId(): string | undefined {
    return this.session?.joined ? this.session.gatewayId : undefined;
  }

  /** Every event up to this seq has been delivered to `event` listeners (0 before any). */
  get lastSeq(): number {
    return this.delivery?.lastSeq ?? 0;
  }

  /** Messages waiting for the server's acknowledgement, oldest first. */
  pending(): OutboxEntry[] {
    return this.outbox.entries();
  }

  /**
   * Connects and joins. With `afterSeq`, every event after it is delivered (paging over HTTP as
   * needed); without it, the latest page (50). Register `event` listeners first. Resolves once
   * joined and caught up to the head at join time; rejects on a final error. Idempotent.
   */
  join(options: { afterSeq?: number } = {}): Promise<JoinResult> {
    if (this.joining) return this.joining;
    if (this.closed) return Promise.reject(new ClientError('closed', 'this room handle is closed'));
    const { afterSeq } = options;
    if (afterSeq !== undefined && (!Number.isInteger(afterSeq) || afterSeq < 0)) {
      return Promise.reject(new ClientError('invalid', `afterSeq must be an integer >= 0, got ${afterSeq}`));
    }
    this.startAfter = afterSeq;
    this.delivery = new InOrderDelivery<EventEnvelope>(afterSeq ?? 0, this.options.maxBufferedEvents);
    this.setState('connecting', {});
    this.joining = this.reconnect().then(() => ({ room: { ...this.roomInfo! } }));
    // The caller gets the rejection through the returned promise; this one only avoids an
    // unhandled rejection when nobody awaits join().
    this.joining.catch(() => undefined);
    return this.joining;
  }

  /**
   * Sends a message. Resolves `{seq, ts}` once the server has committed it, however many
   * reconnects that takes (before `join()` it waits in the outbox); rejects on a final error
   * (`invalid`, `forbidden`, `not_found`), on `close()`, or with `outbox_full`. `replyTo` is the seq
   * of a message of this room that is not deleted (`not_found` otherwise). `clientMsgId` defaults
   * to a fresh UUID.
   */
  send(text: string, options: { replyTo?: number; clientMsgId?: string } = {}): Promise<SendResult> {
    if (this.closed) return Promise.reject(new ClientError('closed', 'this room handle is closed'));
    if (this.final) return Promise.reject(this.final);
    const entry: OutboxEntry = { clientMsgId: options.clientMsgId ?? newClientMsgId(), text, createdAt: Date.now() };
    if (options.replyTo !== undefined) entry.replyTo = options.replyTo;
    try {
      this.outbox.add(entry);
    } catch (err) {
      if (err instanceof OutboxFullError) return Promise.reject(new ClientError('outbox_full', err.message));
      throw err;
    }
    return new Promise<SendResult>((resolve, reject) => {
      const waiting = this.sendWaiters.get(entry.clientMsgId);
      if (waiting) waiting.push({ resolve, reject });
      else this.sendWaiters.set(entry.clientMsgId, [{ resolve, reject }]);
      this.emitSend(entry);
    });
  }

  /** Edits an own message. Sent once (no idempotency key): on `room_moved` / `unavailable` it rejects and the caller may retry. */
  edit(seq: number, text: string): Promise<{ seq: number; ts: string }> {
    return this.command('message:edit', { seq, text }).then(commitOf);
  }

  delete(seq: number): Promise<{ seq: number; ts: string }> {
    return this.command('message:delete', { seq }).then(commitOf);
  }

  /**
   * `reaction:add`. `seq: null`: the user already had this reaction, nothing was written. Sent
   * once, like `edit`: on `room_moved` / `unavailable` it rejects and the caller may retry (a
   * retry of a reaction that did land answers `seq: null`).
   */
  react(seq: number, emoji: string): Promise<{ seq: number | null; ts?: string }> {
    return this.command('reaction:add', { seq, emoji }).then(reactionOf);
  }

  /** `reaction:remove`. `seq: null`: the user did not have this reaction, nothing was written. */
  unreact(seq: number, emoji: string): Promise<{ seq: number | null; ts?: string }> {
    return this.command('reaction:remove', { seq, emoji }).then(reactionOf);
  }

  /**
   * `typing`: true while the user types (renew it every 2–3 s; the server lapses it 5 s after the
   * last renewal), false when they stop. Rate-limited by the server (2 a second).
   */
  async typing(active: boolean): Promise<void> {
    await this.command('typing', { active });
  }

  /** `read:mark`: resolves the marker as the server stored it (it never moves back). */
  async markRead(seq: number): Promise<{ lastReadSeq: number }> {
    const ack = (await this.command('read:mark', { seq })) as { lastReadSeq: number };
    return { lastReadSeq: ack.lastReadSeq };
  }

  // ---- membership (CONTRACT.md "Gateway"): each sent once, like `edit`; `seq: null` means the
  // command changed nothing and wrote nothing (inviting a member, muting for 0 s an unmuted one).

  /** `room:leave`: ends the caller's membership (`member.left`); the owner cannot leave. */
  leave(): Promise<MemberResult> {
    return this.command('room:leave', {}).then(memberOf);
  }

  /** `member:invite` by username: owner or moderator; opens a private room to that user. */
  invite(username: string): Promise<MemberResult> {
    return this.command('member:invite', { username }).then(memberOf);
  }

  /** `member:role`: owner only; `moderator` or `member`. */
  setRole(userId: string, role: 'moderator' | 'member'): Promise<MemberResult> {
    return this.command('member:role', { userId, role }).then(memberOf);
  }

  /** `member:remove`: the target's sockets in the room get `room:kicked` (reason `removed`). */
  remove(userId: string, reason?: string): Promise<MemberResult> {
    return this.command('member:remove', reason === undefined ? { userId } : { userId, reason }).then(memberOf);
  }

  /** `member:ban`: like `remove`, and the user may not come back until `unban`. */
  ban(userId: string, reason?: string): Promise<MemberResult> {
    return this.command('member:ban', reason === undefined ? { userId } : { userId, reason }).then(memberOf);
  }

  unban(userId: string): Promise<MemberResult> {
    return this.command('member:unban', { userId }).then(memberOf);
  }

  /** `member:mute` for `seconds` (0–604800; 0 lifts the mute). */
  mute(userId: string, seconds: number): Promise<MemberResult> {
    return this.command('member:mute', { userId, seconds }).then(memberOf);
  }

  /**
   * Older history over HTTP (`GET /rooms/:id/events?before=`), for scrolling back. Not passed to
   * `event` listeners: live delivery and paging back are separate streams.
   */
  history(options: { before?: number; limit?: number } = {}): Promise<EventsPage> {
    if (this.closed) return Promise.reject(new ClientError('closed', 'this room handle is closed'));
    return this.http.events(this.roomId, { before: options.before, limit: options.limit ?? 100 });
  }

  /**
   * Leaves the room's connection for good. Waiting sends reject with `closed`, but their messages
   * stay in the outbox: a new client over the same storage sends them (a page reload).
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endRateHold();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const wake of [...this.pauses]) wake();
    this.pauses.clear();
    const error = new ClientError('closed', 'the room handle was closed');
    for (const waiting of this.sendWaiters.values()) for (const w of waiting) w.reject(error);
    this.sendWaiters.clear();
    for (const w of this.connectedWaiters) w.reject(error);
    this.connectedWaiters.clear();
    const session = this.session;
    this.session = undefined;
    if (session) this.teardown(session);
    this.setState('offline', { reason: 'closed' });
    this.removeAllListeners();
    this.onClose();
  }

  // ---- the recipe ------------------------------------------------------------------------------

  /** One connection attempt loop at a time; resolves once joined, rejects on a final error. */
  private reconnect(): Promise<void> {
    if (this.connecting) return this.connecting;
    const run = this.connectLoop().finally(() => {
      if (this.connecting === run) this.connecting = undefined;
    });
    run.catch(() => undefined);
    this.connecting = run;
    return run;
  }

  private async connectLoop(): Promise<void> {
    const since = this.lostAt || Date.now();
    // A connection that keeps failing right after it was made (a gateway answering `unavailable`)
    // must not turn into a tight loop: start from the backoff the earlier losses earned.
    let attempt = Math.max(0, this.troubles - 1);
    if (attempt > 0) await this.pause(backoffDelay(attempt, this.options.backoff));
    for (;;) {
      if (this.closed) throw new ClientError('closed', 'the room handle was closed');
      try {
        const session = await this.openSession();
        this.setState('connected', { gatewayId: session.gatewayId });
        this.lostAt = 0;
        for (const w of this.connectedWaiters) w.resolve(session);
        this.connectedWaiters.clear();
        this.endRateHold(); // a new connection starts afresh: the flush resends everything in order
        this.flushOutbox();
        return;
      } catch (err) {
        const error = toClientError(err);
        if (this.closed) throw new ClientError('closed', 'the room handle was closed');
        if (isFinal(error.code)) {
          this.fail(error);
          throw error;
        }
        attempt += 1;
        const offline = Date.now() - since >= this.options.offlineAfterMs;
        if (offline) this.setState('offline', { reason: error.message });
        else if (this.currentState !== 'connecting') this.setState('reconnecting', { reason: error.message });
        await this.pause(backoffDelay(attempt, this.options.backoff));
      }
    }
  }

  /** Ask the API, connect, join after the last delivered seq, catch up over HTTP if needed. */
  private async openSession(): Promise<Session> {
    const info = await this.http.connection(this.roomId);
    if (this.closed) throw new ClientError('closed', 'the room handle was closed');
    const socket = await this.openSocket(info.url, info.ticket, this.options.connectTimeoutMs);
    const session: Session = { socket, gatewayId: info.gatewayId, index: ++this.sessions, alive: true, joined: false, joinedAt: 0 };
    if (this.closed) {
      this.teardown(session);
      throw new ClientError('closed', 'the room handle was closed');
    }
    this.session = session;
    socket.on('room:event', (event) => {
      if (session.alive) this.receive([event], session);
    });
    socket.on('room:presence', (payload) => {
      if (session.alive) this.emit('presence', Array.isArray(payload?.users) ? payload.users : []);
    });
    socket.on('room:typing', (payload) => {
      if (session.alive) this.emit('typing', Array.isArray(payload?.users) ? payload.users : []);
    });
    socket.on('room:moved', (notice) => this.lose(session, 'moving', `room:moved (${notice?.reason ?? 'unknown'})`));
    socket.on('room:kicked', (notice) => this.kicked(session, notice));
    socket.on('disconnect', (reason) => this.lose(session, 'reconnecting', `disconnected (${reason})`));

    const delivery = this.delivery!;
    const firstJoin = this.roomInfo === undefined;
    const afterSeq = firstJoin && this.startAfter === undefined ? undefined : delivery.lastSeq;
    let ack: JoinAck;
    try {
      const answer = await socket.timeout(this.options.ackTimeoutMs).emitWithAck('room:join', afterSeq === undefined ? {} : { afterSeq });
      if (!answer.ok) throw new ClientError(answer.error.code, `room:join on ${info.gatewayId}: ${answer.error.message}`);
      ack = answer;
    } catch (err) {
      this.teardown(session);
      if (this.session === session) this.session = undefined;
      if (err instanceof ClientError) throw err;
      throw new ClientError('unavailable', `room:join on ${info.gatewayId}: ${(err as Error).message}`);
    }
    if (!session.alive) throw new ClientError('unavailable', `connection to ${info.gatewayId} lost while joining`);
    this.roomInfo = { ...ack.room };
    if (afterSeq === undefined) delivery.skipTo((ack.events[0]?.seq ?? ack.room.headSeq + 1) - 1);
    delivery.noteHead(ack.room.headSeq);
    session.joined = true;
    session.joinedAt = Date.now();
    this.receive(ack.events, session);
    if (delivery.gap) {
      try {
        await this.fillGap();
      } catch (err) {
        // Not a reason to drop a working connection: the next live event retries the catch-up.
        this.emit('error', toClientError(err));
      }
    }
    if (!session.alive) throw new ClientError('unavailable', `connection to ${info.gatewayId} lost while catching up`);
    return session;
  }

  /** Events from any source go through one in-order gate; a gap is filled over HTTP. */
  private receive(events: EventEnvelope[], session: Session | undefined): void {
    const delivery = this.delivery;
    if (!delivery || this.closed) return;
    const mine = events.filter((e) => e && e.roomId === this.roomId);
    const result = delivery.accept(mine);
    for (const event of result.deliver) this.emit('event', event);
    if (session?.joined && delivery.gap && !this.filling) {
      this.fillGap().catch((err: unknown) => this.emit('error', toClientError(err)));
    }
  }

  private fillGap(): Promise<void> {
    if (this.filling) return this.filling;
    const run = (async () => {
      const delivery = this.delivery!;
      // Bounded: each page moves the watermark by up to a page, or the loop ends.
      for (let pages = 0; delivery.gap && !this.closed; pages++) {
        const before = delivery.lastSeq;
        const page = await this.http.events(this.roomId, { after: before, limit: this.options.catchUpPageSize });
        if (this.closed) return;
        delivery.noteHead(page.headSeq);
        this.receive(page.events, undefined);
        if (page.events.length === 0 || delivery.lastSeq === before) {
          throw new ClientError('unavailable', `history after ${before} returned nothing new (head ${page.headSeq})`);
        }
      }
    })().finally(() => {
      this.filling = undefined;
    });
    this.filling = run;
    return run;
  }

  /** Marks a connection lost (once) and starts the recipe. */
  private lose(session: Session, next: 'moving' | 'reconnecting', reason: string): void {
    if (!session.alive) return;
    const wasJoined = session.joined;
    this.teardown(session);
    if (this.session !== session) return;
    this.session = undefined;
    this.endRateHold(); // the rejoin's flush resends every waiting message, oldest first
    if (this.closed || this.final) return;
    // A connection that served for a while was healthy: its loss starts a fresh backoff.
    if (wasJoined && Date.now() - session.joinedAt > 10_000) this.troubles = 0;
    this.troubles += 1;
    this.lostAt ||= Date.now();
    this.setState(next, { reason, gatewayId: session.gatewayId });
    void this.reconnect();
  }

  private teardown(session: Session): void {
    session.alive = false;
    session.joined = false;
    session.socket.removeAllListeners();
    session.socket.disconnect();
  }

  private kicked(session: Session, notice: { roomId: string; reason: string }): void {
    if (!session.alive) return;
    this.emit('kicked', { roomId: notice?.roomId ?? this.roomId, reason: notice?.reason ?? 'removed' });
    this.fail(new ClientError('kicked', `removed from the room (${notice?.reason ?? 'removed'})`));
  }

  /**
   * A final error: nothing more goes through this handle, and `client.room(id)` hands out a fresh
   * one from now on. Waiting sends reject. Their messages leave the outbox when the server would
   * refuse them forever (removed, banned, no such room); after a 401 (an expired token) they stay,
   * so a client with a new token sends them.
   */
  private fail(error: ClientError): void {
    if (this.final) return;
    this.final = error;
    this.endRateHold();
    const session = this.session;
    this.session = undefined;
    if (session) this.teardown(session);
    for (const [id, waiting] of this.sendWaiters) {
      if (error.code !== 'unauthorized') this.outbox.remove(id);
      for (const w of waiting) w.reject(error);
    }
    this.sendWaiters.clear();
    for (const w of this.connectedWaiters) w.reject(error);
    this.connectedWaiters.clear();
    this.setState('offline', { reason: error.message });
    this.emit('error', error);
    this.onClose();
  }

  // ---- sends ---------------------------------------------------------------------------------

  private flushOutbox(): void {
    for (const entry of this.outbox.entries()) this.emitSend(entry);
  }

  /**
   * Emits one outbox entry on the current connection, unless it is already in flight there. While
   * a rate limit holds sends back, only `pumpHeld` emits (`held`), so nothing overtakes an older
   * message waiting for its retry.
   */
  private emitSend(entry: OutboxEntry, held = false): void {
    const session = this.session;
    if (!session?.joined || this.closed) return; // the next (re)join flushes the outbox
    if (this.rateHold && !held) return; // waits in the outbox; pumpHeld sends it in its turn
    const id = entry.clientMsgId;
    if (this.inflight.get(id) === session.index) return;
    this.inflight.set(id, session.index);
    const payload: SendWirePayload = { clientMsgId: id, text: entry.text };
    if (entry.replyTo !== undefined) payload.replyTo = entry.replyTo;
    session.socket.timeout(this.options.ackTimeoutMs).emit('message:send', payload, (err: Error | null, ack) => {
      if (this.inflight.get(id) === session.index) this.inflight.delete(id);
      if (this.closed || !this.outbox.has(id)) return this.pumpHeld();
      if (err) {
        // No answer in time (a frozen or partitioned gateway) or the socket closed: treat the
        // connection as lost; the next join resends with the same clientMsgId.
        this.lose(session, 'reconnecting', `message:send not acknowledged (${err.message})`);
        return;
      }
      if (ack.ok) {
        if (this.rateHold) this.rateHold.attempt = 0; // the server takes messages again
        this.settle(id, { clientMsgId: id, seq: ack.seq, ts: ack.ts });
        return this.pumpHeld();
      }
      const { code, message } = ack.error;
      if (code === 'room_moved') return this.lose(session, 'moving', `message:send: ${message}`);
      if (code === 'unavailable') return this.lose(session, 'reconnecting', `message:send: ${message}`);
      if (code === 'rate_limited') return this.holdForRateLimit(session);
      this.refuse(id, new ClientError(code, message));
      this.pumpHeld();
    });
  }

  /**
   * `rate_limited`: the same connection is fine, the user is just too fast. Sends stop (the
   * refused message and every newer one wait in the outbox) and ONE timer, with backoff, resumes
   * them oldest first; a refusal on a connection already lost is left to the rejoin's flush.
   */
  private holdForRateLimit(session: Session): void {
    if (this.session !== session || !session.joined || this.closed || this.final) return;
    const hold = (this.rateHold ??= { attempt: 0 });
    if (hold.timer !== undefined) return; // one retry timer for all waiting messages
    hold.attempt += 1;
    const delay = backoffDelay(hold.attempt, { ...this.options.backoff, baseMs: Math.max(250, this.options.backoff.baseMs ?? 0) });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.rateHold !== hold) return;
      hold.timer = undefined;
      this.pumpHeld();
    }, delay);
    hold.timer = timer;
    this.timers.add(timer);
  }

  /**
   * While a rate limit holds: once no retry timer is pending and nothing is in flight on this
   * connection, sends the oldest waiting message (one at a time, so a later one is never committed
   * before an earlier one that is refused again). The hold ends when the outbox is empty.
   */
  private pumpHeld(): void {
    const hold = this.rateHold;
    const session = this.session;
    if (!hold || hold.timer !== undefined || !session?.joined || this.closed) return;
    const entries = this.outbox.entries();
    if (entries.some((e) => this.inflight.get(e.clientMsgId) === session.index)) return; // its ack pumps again
    const next = entries[0];
    if (!next) {
      this.rateHold = undefined;
      return;
    }
    this.emitSend(next, true);
  }

  /** Drops the rate-limit hold and its timer (close, a final error, a lost or new connection). */
  private endRateHold(): void {
    const timer = this.rateHold?.timer;
    if (timer !== undefined) {
      clearTimeout(timer);
      this.timers.delete(timer);
    }
    this.rateHold = undefined;
  }

  private settle(id: string, result: SendResult): void {
    this.outbox.remove(id);
    this.troubles = 0;
    const waiting = this.sendWaiters.get(id) ?? [];
    this.sendWaiters.delete(id);
    for (const w of waiting) w.resolve(result);
    this.emit('sent', result);
  }

  private refuse(id: string, error: ClientError): void {
    this.outbox.remove(id);
    const waiting = this.sendWaiters.get(id) ?? [];
    this.sendWaiters.delete(id);
    for (const w of waiting) w.reject(error);
    if (waiting.length === 0) this.emit('error', error);
  }

  // ---- one-shot commands -------------------------------------------------------------------

  /**
   * Emits a command once on a joined connection (waiting for one up to `ackTimeoutMs`) and returns
   * the ok ack; a failed ack rejects with the server's code and message as they are.
   */
  private async command(event: CommandEvent, payload: object): Promise<any> {
    if (!this.joining) throw new ClientError('invalid', `${event}: call join() first`);
    const session = await this.whenConnected();
    let ack: { ok: true } | { ok: false; error: { code: ClientErrorCode; message: string } };
    try {
      ack = await (session.socket.timeout(this.options.ackTimeoutMs) as any).emitWithAck(event, payload);
    } catch (err) {
      const timedOut = /timed out/i.test((err as Error).message);
      throw new ClientError(
        timedOut ? 'timeout' : 'unavailable',
        timedOut ? `${event}: not acknowledged within ${this.options.ackTimeoutMs} ms (a server without this command never answers it)` : `${event}: ${(err as Error).message}`,
      );
    }
    if (!ack || typeof ack !== 'object') throw new ClientError('unavailable', `${event}: malformed acknowledgement`);
    if (!ack.ok) {
      const { code, message } = ack.error;
      if (code === 'room_moved') this.lose(session, 'moving', `${event}: ${message}`);
      if (code === 'unavailable') this.lose(session, 'reconnecting', `${event}: ${message}`);
      throw new ClientError(code, message);
    }
    return ack;
  }

  private whenConnected(): Promise<Session> {
    if (this.closed) return Promise.reject(new ClientError('closed', 'this room handle is closed'));
    if (this.final) return Promise.reject(this.final);
    if (this.session?.joined) return Promise.resolve(this.session);
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter<Session> = {
        resolve: (s) => {
          clearTimeout(timer);
          this.timers.delete(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          this.timers.delete(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.connectedWaiters.delete(waiter);
        reject(new ClientError('unavailable', `not connected to the room within ${this.options.ackTimeoutMs} ms`));
      }, this.options.ackTimeoutMs);
      this.timers.add(timer);
      this.connectedWaiters.add(waiter);
    });
  }

  // ---- helpers -------------------------------------------------------------------------------

  private setState(state: ConnectionState, detail: StateDetail): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit('state', state, detail);
  }

  /** A backoff wait that `close()` cuts short (the loop then sees `closed` and stops). */
  private pause(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.pauses.delete(wake);
        resolve();
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        this.timers.delete(timer);
        resolve();
      };
      this.timers.add(timer);
      this.pauses.add(wake);
    });
  }
}

function commitOf(ack: { seq: number; ts: string }): { seq: number; ts: string } {
  return { seq: ack.seq, ts: ack.ts };
}

function memberOf(ack: { seq: number | null; ts?: string }): MemberResult {
  return ack.seq === null || ack.seq === undefined ? { seq: null } : { seq: ack.seq, ts: ack.ts };
}

function reactionOf(ack: ReactionAck): { seq: number | null; ts?: string } {
  return ack.seq === null ? { seq: null } : { seq: ack.seq, ts: ack.ts };
}

export function toClientError(err: unknown): ClientError {
  if (err instanceof ClientError) return err;
  return new ClientError('unavailable', err instanceof Error ? err.message : String(err));
}

/** A UUID v4; `crypto.randomUUID` is missing outside secure contexts (plain http pages). */
export function newClientMsgId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
