import { io } from 'socket.io-client';
import type { EventEnvelope, JoinAck } from '../../libs/domain/src';
import type { ApiClient, ChatSocket, ConnectionInfo, TestUser } from './client';

/**
 * A chat client that implements the README's "Reconnecting without loss" recipe exactly, and
 * records what happened to it, for the fault tests:
 *
 * 1. On `room:moved`, a disconnect, a refused handshake, an ack `{ok:false, code:'room_moved'}` or
 *    an ack that does not arrive in time, it asks the API again (`POST /rooms/:id/connection`),
 *    retrying with backoff (100 ms doubling to 1 s, bounded by `recoveryTimeoutMs`).
 * 2. It connects to the returned `url` with the new ticket.
 * 3. `room:join {afterSeq: <last applied seq>}`; with `hasMore` it pages the rest over HTTP.
 * 4. Every message not yet acknowledged is sent again with the same `clientMsgId` (each pending
 *    `send()` retries on the new connection). An ack `{ok:false, code:'unavailable'}` is resent on
 *    the same connection after a backoff.
 *
 * Events are applied by seq and de-duplicated; `lastSeq` is the end of the gap-free prefix.
 *
 * Why the fault suites use this and not the client library (libs/client, which the web app and
 * test/client-library.e2e-spec.ts use): this is a verifier, not a product client. It keeps what
 * the library deliberately hides from applications: every attempt and its connection, each
 * outage's duration and gateways, every join's backlog, and `conflicts` (two different envelopes
 * for one seq: a forked log), which the library's exactly-once gate would silently drop. The
 * library's own recipe is proven against the same faults by test/client-library.e2e-spec.ts
 * and, in Chromium, test/web-client.e2e-spec.ts.
 */

export interface ResilientClientOptions {
  /** Name in messages. */
  name?: string;
  /** An ack (send or join) slower than this counts as a lost connection. Default 4 s. */
  ackTimeoutMs?: number;
  /**
   * Bound on one handshake, including the room load on the gateway. Default 5 s (a frozen
   * gateway accepts TCP connections but never answers; a big room's first full replay needs more).
   */
  connectTimeoutMs?: number;
  /** Bound on one recovery (all its attempts). Default 30 s. */
  recoveryTimeoutMs?: number;
  /** Bound on one `send()` until acknowledged, across recoveries. Default 60 s. */
  sendTimeoutMs?: number;
  /** First join: after this seq (default 0: the whole history), or `'latest'` (no afterSeq). */
  startAfterSeq?: number | 'latest';
}

export interface AckRecord {
  clientMsgId: string;
  seq: number;
  ts: string;
  /** When the ok ack arrived (ms since epoch). */
  at: number;
  gatewayId: string;
  /** Which connection of this client answered (1: the first one). */
  connection: number;
  /** Attempts it took (1: acknowledged the first time). */
  attempts: number;
}

export interface AttemptRecord {
  clientMsgId: string;
  gatewayId: string;
  /** Which connection of this client it went through (1: the first one). */
  connection: number;
  sentAt: number;
  at: number;
  outcome: 'ok' | 'error' | 'timeout' | 'disconnected';
  code?: string;
  seq?: number;
}

export interface OutageRecord {
  reason: string;
  lostAt: number;
  fromGateway: string;
  /** The first successful ack after the loss. */
  servedAt: number;
  toGateway: string;
  ms: number;
}

export interface JoinRecord {
  gatewayId: string;
  afterSeq: number | undefined;
  headSeq: number;
  events: number;
  hasMore: boolean;
  /** Events fetched over HTTP because of `hasMore`. */
  paged: number;
  /** From asking the API to the join ack (ms). */
  ms: number;
  at: number;
}

interface Session {
  socket: ChatSocket;
  gatewayId: string;
  index: number;
  url: string;
  alive: boolean;
}

class FatalError extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ResilientClient {
  /** The last seq applied: every event 1..lastSeq (or from the first join's start) was received. */
  lastSeq = 0;
  readonly acks: AckRecord[] = [];
  readonly attempts: AttemptRecord[] = [];
  readonly outages: OutageRecord[] = [];
  readonly joins: JoinRecord[] = [];
  readonly moved: Array<{ roomId: string; reason: string; gatewayId: string; at: number }> = [];
  /** Connection losses in order (reason and when). */
  readonly losses: Array<{ reason: string; gatewayId: string; at: number }> = [];
  /** Two different events received for one seq: a fork of the log. Must stay empty. */
  readonly conflicts: Array<{ seq: number; first: EventEnvelope; second: EventEnvelope }> = [];
  /** Failed recovery attempts, for messages. */
  readonly recoveryErrors: string[] = [];
  /** Successful re-connections (the first connection not counted). */
  reconnects = 0;
  /** Events received again (overlap of join history and live events). */
  duplicateEvents = 0;

  private readonly received = new Map<number, EventEnvelope>();
  private readonly unacked = new Map<string, { text: string; since: number }>();
  private readonly opts: Required<Omit<ResilientClientOptions, 'startAfterSeq'>> & { startAfterSeq: number | 'latest' };
  private session: Session | undefined;
  private recovering: Promise<Session> | undefined;
  private outage: { reason: string; lostAt: number; fromGateway: string } | undefined;
  private sessionsOpened = 0;
  private closed = false;

  constructor(
    readonly api: ApiClient,
    readonly user: TestUser,
    readonly roomId: string,
    options: ResilientClientOptions = {},
  ) {
    this.opts = {
      name: options.name ?? user.user.username,
      ackTimeoutMs: options.ackTimeoutMs ?? 4_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      recoveryTimeoutMs: options.recoveryTimeoutMs ?? 30_000,
      sendTimeoutMs: options.sendTimeoutMs ?? 60_000,
      startAfterSeq: options.startAfterSeq ?? 0,
    };
    if (typeof this.opts.startAfterSeq === 'number') this.lastSeq = this.opts.startAfterSeq;
  }

  get name(): string {
    return this.opts.name;
  }

  /** The gateway of the current live connection, if any. */
  get gatewayId(): string | undefined {
    return this.connected ? this.session!.gatewayId : undefined;
  }

  get connected(): boolean {
    return Boolean(this.session?.alive && this.session.socket.connected);
  }

  /** Messages sent but not acknowledged yet. */
  get pending(): string[] {
    return [...this.unacked.keys()];
  }

  /** Every event received, in seq order, each once. */
  get events(): EventEnvelope[] {
    return [...this.received.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Connects (asking the API) and joins; resolves once joined. */
  async connect(): Promise<void> {
    await this.ready();
  }

  /**
   * Sends one message and resolves once it is acknowledged `ok`, following the recipe across
   * lost connections. Rejects when `sendTimeoutMs` passes, when a recovery times out, or on an
   * error code the recipe does not retry (`invalid`, `forbidden`, ...).
   */
  async send(clientMsgId: string, text: string): Promise<AckRecord> {
    this.unacked.set(clientMsgId, { text, since: Date.now() });
    const deadline = Date.now() + this.opts.sendTimeoutMs;
    let backoff = 100;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error(`${this.name}: closed while ${clientMsgId} was unacknowledged`);
      if (Date.now() > deadline) {
        const tried = this.attempts.filter((a) => a.clientMsgId === clientMsgId).map((a) => `${a.gatewayId}:${a.outcome}${a.code ? `/${a.code}` : ''}`);
        throw new Error(`${this.name}: ${clientMsgId} not acknowledged within ${this.opts.sendTimeoutMs} ms (attempts: ${tried.join(', ')})`);
      }
      const session = await this.ready();
      const sentAt = Date.now();
      let ack;
      try {
        ack = await session.socket.timeout(this.opts.ackTimeoutMs).emitWithAck('message:send', { clientMsgId, text });
      } catch (err) {
        const timedOut = /timed out/i.test((err as Error).message);
        this.attempts.push({ clientMsgId, gatewayId: session.gatewayId, connection: session.index, sentAt, at: Date.now(), outcome: timedOut ? 'timeout' : 'disconnected' });
        // An ack that never came: the connection is treated as lost (a frozen or partitioned
        // gateway); reconnect through the API and resend.
        this.lose(session, timedOut ? `ack timeout (${clientMsgId})` : 'disconnected during send', timedOut ? sentAt : Date.now());
        continue;
      }
      const at = Date.now();
      if (ack.ok) {
        this.attempts.push({ clientMsgId, gatewayId: session.gatewayId, connection: session.index, sentAt, at, outcome: 'ok', seq: ack.seq });
        const record: AckRecord = { clientMsgId, seq: ack.seq, ts: ack.ts, at, gatewayId: session.gatewayId, connection: session.index, attempts: attempt };
        this.acks.push(record);
        this.unacked.delete(clientMsgId);
        if (this.outage) {
          this.outages.push({ ...this.outage, servedAt: at, toGateway: session.gatewayId, ms: at - this.outage.lostAt });
          this.outage = undefined;
        }
        return record;
      }
      const code = ack.error.code;
      this.attempts.push({ clientMsgId, gatewayId: session.gatewayId, connection: session.index, sentAt, at, outcome: 'error', code });
      if (code === 'room_moved') {
        this.lose(session, `ack room_moved (${clientMsgId})`);
        continue;
      }
      if (code === 'unavailable') {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 1_000);
        continue;
      }
      throw new Error(`${this.name}: send ${clientMsgId} refused: ${JSON.stringify(ack)}`);
    }
  }

  /**
   * Sends `count` messages `<prefix>-<i>` with up to `window` of them in flight at once, each
   * through `send()`. Resolves with the acks in message order.
   */
  async sendMany(prefix: string, count: number, window = 5, text: (i: number) => string = (i) => `${prefix} message ${i}`): Promise<AckRecord[]> {
    const results: AckRecord[] = new Array(count);
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (next < count && failure === undefined) {
        const i = next++;
        try {
          results[i] = await this.send(`${prefix}-${i}`, text(i));
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
    if (failure !== undefined) throw failure;
    return results;
  }

  /**
   * One `message:send` on the current connection, no retry: the raw ack, or `'timeout'` /
   * `'disconnected'`. For asserting exactly what a gateway answers (the message stays pending
   * until a later `send()` of the same id).
   */
  async sendOnce(clientMsgId: string, text: string, timeoutMs = this.opts.ackTimeoutMs) {
    const session = await this.ready();
    this.unacked.set(clientMsgId, { text, since: Date.now() });
    const sentAt = Date.now();
    try {
      const ack = await session.socket.timeout(timeoutMs).emitWithAck('message:send', { clientMsgId, text });
      this.attempts.push({
        clientMsgId,
        gatewayId: session.gatewayId,
        connection: session.index,
        sentAt,
        at: Date.now(),
        outcome: ack.ok ? 'ok' : 'error',
        ...(ack.ok ? { seq: ack.seq } : { code: ack.error.code }),
      });
      if (ack.ok) this.unacked.delete(clientMsgId);
      return ack;
    } catch (err) {
      const outcome = /timed out/i.test((err as Error).message) ? ('timeout' as const) : ('disconnected' as const);
      this.attempts.push({ clientMsgId, gatewayId: session.gatewayId, connection: session.index, sentAt, at: Date.now(), outcome });
      return outcome;
    }
  }

  /**
   * `message:edit` / `message:delete` once on the current connection (they carry no idempotency
   * key, so the recipe does not resend them): the raw ack.
   */
  async edit(seq: number, text: string) {
    const session = await this.ready();
    return session.socket.timeout(this.opts.ackTimeoutMs).emitWithAck('message:edit', { seq, text });
  }

  async remove(seq: number) {
    const session = await this.ready();
    return session.socket.timeout(this.opts.ackTimeoutMs).emitWithAck('message:delete', { seq });
  }

  /** Resolves once every event up to `seq` has been applied. */
  async caughtUp(seq: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lastSeq < seq) {
      if (Date.now() > deadline) throw new Error(`${this.name}: applied up to ${this.lastSeq}, expected ${seq}`);
      await sleep(50);
    }
  }

  /** Closes the connection for good; pending sends reject. */
  close(): void {
    this.closed = true;
    const session = this.session;
    if (session) {
      session.alive = false;
      session.socket.removeAllListeners();
      session.socket.close();
    }
  }

  // --- the recipe -----------------------------------------------------------------------------

  /** The live, joined connection; recovers first when there is none. */
  private ready(): Promise<Session> {
    if (this.closed) return Promise.reject(new Error(`${this.name}: closed`));
    if (this.session?.alive && this.session.socket.connected) return Promise.resolve(this.session);
    return this.recover();
  }

  /** Marks a connection lost (once), closes it and starts recovering at once. */
  private lose(session: Session, reason: string, lostAt = Date.now()): void {
    if (!session.alive) return;
    session.alive = false;
    session.socket.removeAllListeners();
    session.socket.close();
    this.losses.push({ reason, gatewayId: session.gatewayId, at: lostAt });
    this.outage ??= { reason, lostAt, fromGateway: session.gatewayId };
    if (!this.closed) {
      this.recover().catch((err: unknown) => this.recoveryErrors.push(`background recovery failed: ${(err as Error).message}`));
    }
  }

  /** One recovery at a time; everyone waiting shares it. */
  private recover(): Promise<Session> {
    if (this.recovering) return this.recovering;
    const run = this.recoverLoop().finally(() => {
      if (this.recovering === run) this.recovering = undefined;
    });
    this.recovering = run;
    return run;
  }

  private async recoverLoop(): Promise<Session> {
    const deadline = Date.now() + this.opts.recoveryTimeoutMs;
    let backoff = 100;
    let lastError = '';
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error(`${this.name}: closed`);
      try {
        const session = await this.openSession();
        if (this.sessionsOpened++ > 0) this.reconnects += 1;
        return session;
      } catch (err) {
        lastError = (err as Error).message;
        this.recoveryErrors.push(`attempt ${attempt}: ${lastError}`);
        if (this.recoveryErrors.length > 500) this.recoveryErrors.splice(0, 100);
        if (err instanceof FatalError) throw err;
      }
      if (Date.now() + backoff > deadline) {
        throw new Error(`${this.name}: could not reconnect within ${this.opts.recoveryTimeoutMs} ms (${attempt} attempts; last: ${lastError})`);
      }
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 1_000);
    }
  }

  /** Steps 1-3: ask the API, connect, join after the last applied seq (paging when needed). */
  private async openSession(): Promise<Session> {
    const started = Date.now();
    const res = await this.api.request<ConnectionInfo>('POST', `/rooms/${this.roomId}/connection`, { token: this.user.token });
    if (res.status === 401 || res.status === 403 || res.status === 404) throw new FatalError(`connection: ${res.status} ${JSON.stringify(res.body)}`);
    if (res.status !== 200) throw new Error(`connection: ${res.status} ${JSON.stringify(res.body)}`);
    const info = res.body;
    const socket = await this.openSocket(info.url, info.ticket);
    const session: Session = { socket, gatewayId: info.gatewayId, index: this.sessionsOpened + 1, url: info.url, alive: true };
    socket.on('room:event', (event) => this.apply(event));
    socket.on('room:moved', (notice) => {
      this.moved.push({ ...notice, gatewayId: session.gatewayId, at: Date.now() });
      this.lose(session, `room:moved (${notice.reason})`);
    });
    socket.on('disconnect', (reason) => this.lose(session, `disconnect (${reason})`));
    try {
      const first = this.sessionsOpened === 0 && this.opts.startAfterSeq === 'latest';
      const afterSeq = first ? undefined : this.lastSeq;
      let ack: JoinAck;
      try {
        const answer = await socket.timeout(this.opts.ackTimeoutMs).emitWithAck('room:join', afterSeq === undefined ? {} : { afterSeq });
        if (!answer.ok) throw new Error(`join refused: ${JSON.stringify(answer)}`);
        ack = answer;
      } catch (err) {
        throw new Error(`join on ${info.gatewayId}: ${(err as Error).message}`);
      }
      if (first) this.lastSeq = (ack.events[0]?.seq ?? ack.room.headSeq + 1) - 1;
      for (const event of ack.events) this.apply(event);
      let paged = 0;
      if (ack.hasMore && afterSeq !== undefined) paged = await this.page(ack.room.headSeq);
      if (!session.alive) throw new Error(`connection to ${info.gatewayId} lost while joining`);
      if (this.closed) throw new FatalError(`${this.name}: closed while reconnecting`);
      this.session = session;
      this.joins.push({
        gatewayId: info.gatewayId,
        afterSeq,
        headSeq: ack.room.headSeq,
        events: ack.events.length,
        hasMore: ack.hasMore,
        paged,
        ms: Date.now() - started,
        at: Date.now(),
      });
      return session;
    } catch (err) {
      session.alive = false;
      socket.removeAllListeners();
      socket.close();
      throw err;
    }
  }

  /** `hasMore`: fetch the events after the last applied seq over HTTP up to `headSeq`. */
  private async page(headSeq: number): Promise<number> {
    let fetched = 0;
    const maxPages = Math.ceil(Math.max(0, headSeq - this.lastSeq) / 500) + 2;
    for (let i = 0; i < maxPages && this.lastSeq < headSeq; i++) {
      const res = await this.api.request<{ events: EventEnvelope[]; headSeq: number }>(
        'GET',
        `/rooms/${this.roomId}/events?after=${this.lastSeq}&limit=500`,
        { token: this.user.token },
      );
      if (res.status !== 200) throw new Error(`history page: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.body.events.length === 0) break;
      for (const event of res.body.events) this.apply(event);
      fetched += res.body.events.length;
    }
    if (this.lastSeq < headSeq) throw new Error(`history paging stopped at ${this.lastSeq}, head ${headSeq}`);
    return fetched;
  }

  /** Applies an event by seq, once; remembers a different event for a seq already held. */
  private apply(event: EventEnvelope): void {
    if (event.roomId !== this.roomId) return;
    const held = this.received.get(event.seq);
    if (held) {
      this.duplicateEvents += 1;
      if (held.type !== event.type || held.clientMsgId !== event.clientMsgId || held.actor?.id !== event.actor?.id || held.ts !== event.ts) {
        this.conflicts.push({ seq: event.seq, first: held, second: event });
      }
      return;
    }
    if (event.seq <= this.lastSeq) {
      // At or before the start point of this client (`startAfterSeq`): not tracked.
      this.duplicateEvents += 1;
      return;
    }
    this.received.set(event.seq, event);
    while (this.received.has(this.lastSeq + 1)) this.lastSeq += 1;
  }

  /** Opens a socket with a ticket; rejects on `connect_error` or when the handshake hangs. */
  private openSocket(url: string, ticket: string): Promise<ChatSocket> {
    return new Promise((resolve, reject) => {
      const socket: ChatSocket = io(url, {
        auth: { ticket },
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        timeout: this.opts.connectTimeoutMs,
      });
      const timer = setTimeout(() => fail(new Error(`handshake with ${url} timed out after ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.close();
        reject(err);
      };
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners();
        resolve(socket);
      });
      socket.once('connect_error', (err) => fail(new Error(`connect_error ${err.message} (${url})`)));
    });
  }
}
