/**
 * Building blocks of the benchmark: statistics, clients that connect exactly like a user's
 * (HTTP `POST /rooms/:id/connection`, Socket.IO with the ticket, `room:join`), a bounded
 * closed-loop send generator, and scrapes of the gateways' `/metrics`. Everything is measured on
 * the client side with `performance.now()` (one clock: every client lives in this process).
 */
import { performance } from 'node:perf_hooks';
import { io } from 'socket.io-client';
import type { EventEnvelope, JoinAck } from '../libs/domain/src';
import type { ApiClient, ChatSocket, ConnectionInfo, TestUser } from '../test/support/client';

/** One measured number: what the table prints and the JSON keeps. */
export interface Figure {
  scenario: string;
  name: string;
  value: number;
  unit: string;
  /** Short text for the table's notes column. */
  note?: string;
  details: Record<string, unknown>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** p50/p95/p99/max/mean of samples (ms), rounded to 0.01. */
export function distribution(samples: number[]): Distribution {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.length ? sorted[sorted.length - 1]! : NaN),
    mean: round(sorted.length ? sum / sorted.length : NaN),
  };
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(runners);
  return results;
}

// ---- clients ---------------------------------------------------------------------------------

/** A user's socket, joined to one room. */
export interface Member {
  index: number;
  user: TestUser;
  roomId: string;
  gatewayId: string;
  socket: ChatSocket;
}

/** Socket.IO connection with a ticket, as the web client makes it (websocket transport). */
export function connectSocket(url: string, ticket: string, timeoutMs: number): Promise<ChatSocket> {
  return connectWithAuth(url, { ticket }, timeoutMs);
}

/** The same connection with any handshake `auth` (the baseline peer takes `{roomId, userId, username}`). */
export function connectWithAuth(url: string, auth: Record<string, string>, timeoutMs: number): Promise<ChatSocket> {
  return new Promise((resolve, reject) => {
    const socket: ChatSocket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, timeout: timeoutMs });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(new Error(`connect_error ${err.message}`));
    });
  });
}

export interface Entered {
  member: Member;
  ack: JoinAck;
  /** From `POST /rooms/:id/connection` to the join ack, of the attempt that succeeded (ms). */
  ms: number;
  /** From the first attempt to the join ack (ms); equals `ms` when the first attempt worked. */
  totalMs: number;
  attempts: number;
}

/**
 * Enters a room like a user's client: ask the API for the room's gateway and a ticket, connect,
 * `room:join`. A 503 (no gateway yet, room being released) or a refused handshake is retried
 * with a short backoff until `deadlineMs` has passed.
 */
export async function enterRoom(
  api: ApiClient,
  user: TestUser,
  roomId: string,
  index: number,
  options: { join?: { afterSeq?: number }; timeoutMs?: number; deadlineMs?: number } = {},
): Promise<Entered> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const firstAt = performance.now();
  const deadline = firstAt + (options.deadlineMs ?? 20_000);
  let backoff = 50;
  for (let attempt = 1; ; attempt++) {
    const startedAt = performance.now();
    let socket: ChatSocket | undefined;
    try {
      const res = await api.request<ConnectionInfo>('POST', `/rooms/${roomId}/connection`, { token: user.token });
      if (res.status !== 200) throw new Error(`POST /rooms/${roomId}/connection: ${res.status} ${JSON.stringify(res.body)}`);
      const info = res.body;
      socket = await connectSocket(info.url, info.ticket, timeoutMs);
      const ack = await socket.timeout(timeoutMs).emitWithAck('room:join', options.join ?? {});
      if (!ack.ok) throw new Error(`room:join: ${ack.error.code} ${ack.error.message}`);
      const now = performance.now();
      return { member: { index, user, roomId, gatewayId: info.gatewayId, socket }, ack, ms: now - startedAt, totalMs: now - firstAt, attempts: attempt };
    } catch (err) {
      socket?.close();
      if (performance.now() + backoff > deadline) throw new Error(`could not enter room ${roomId} after ${attempt} attempts: ${(err as Error).message}`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 500);
    }
  }
}

export function closeAll(members: Iterable<Member>): void {
  for (const m of members) {
    m.socket.removeAllListeners();
    m.socket.close();
  }
}

// ---- load --------------------------------------------------------------------------------------

export interface LoadOptions {
  members: Member[];
  /** Sends each member keeps in flight (1: one at a time). */
  inFlight: number;
  /** Load before the measured window (not counted). */
  warmupMs: number;
  /** The measured window. */
  durationMs: number;
  /** clientMsgId prefix, unique per run and scenario. */
  prefix: string;
  /** Message text length in characters. */
  textLength?: number;
  ackTimeoutMs?: number;
  /** Called exactly when the window opens and closes (e.g. to scrape /metrics); awaited at the end. */
  onWindowStart?: () => Promise<void> | void;
  onWindowEnd?: () => Promise<void> | void;
  /** Every ok ack; `measured`: the send was issued inside the window. */
  onAck?: (member: Member, seq: number, sentAt: number, ackAt: number, measured: boolean) => void;
}

export interface LoadResult {
  windowMs: number;
  /** Ok acks that arrived inside the window. */
  acksInWindow: number;
  /** Ack latencies (ms) of the sends issued inside the window. */
  latencies: number[];
  sent: number;
  acked: number;
  errors: Record<string, number>;
  /** CPU time of this (client) process during the window, as % of one core. */
  clientCpuPercent: number;
}

/**
 * The text of a bench message, `length` characters of words: the message projection indexes
 * every word for search (a `tsvector` and its GIN entries, in the append statement), so a text
 * of one long token would understate what the product pays for a real message. Every scenario
 * that sends or appends messages uses it (with ` #n` appended where messages must differ).
 */
export function benchText(length: number): string {
  return `bench message ${'lorem ipsum dolor sit amet '.repeat(Math.ceil(length / 27) + 1)}`.slice(0, length);
}

/**
 * Closed-loop load: every member keeps `inFlight` `message:send`s outstanding (each slot sends,
 * awaits the ack, sends the next) until the window closes; nothing new starts afterwards and the
 * sends still in flight are awaited (each bounded by `ackTimeoutMs`).
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const ackTimeoutMs = o.ackTimeoutMs ?? 20_000;
  const base = benchText(o.textLength ?? 100);
  const startAt = performance.now();
  const windowStart = startAt + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const count = (code: string) => (errors[code] = (errors[code] ?? 0) + 1);
  let sent = 0;
  let acked = 0;
  let acksInWindow = 0;
  let cpuAtStart = process.cpuUsage();

  const hooks = Promise.all([
    sleep(o.warmupMs).then(() => {
      cpuAtStart = process.cpuUsage();
      return o.onWindowStart?.();
    }),
    sleep(o.warmupMs + o.durationMs).then(() => o.onWindowEnd?.()),
  ]);
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  const cpuTimer = setTimeout(() => (cpuInWindow = process.cpuUsage(cpuAtStart)), o.warmupMs + o.durationMs);

  const slot = async (m: Member, s: number) => {
    for (let n = 0; performance.now() < windowEnd; n++) {
      if (!m.socket.connected) {
        count('disconnected');
        return;
      }
      const clientMsgId = `${o.prefix}-${m.index}-${s}-${n}`;
      const sentAt = performance.now();
      sent++;
      let ack;
      try {
        ack = await m.socket.timeout(ackTimeoutMs).emitWithAck('message:send', { clientMsgId, text: `${base} #${n}` });
      } catch {
        count('timeout');
        continue;
      }
      const ackAt = performance.now();
      if (!ack.ok) {
        count(ack.error.code);
        if (ack.error.code === 'room_moved') return;
        continue;
      }
      acked++;
      if (ackAt >= windowStart && ackAt <= windowEnd) acksInWindow++;
      const measured = sentAt >= windowStart;
      if (measured) latencies.push(ackAt - sentAt);
      o.onAck?.(m, ack.seq, sentAt, ackAt, measured);
    }
  };
  await Promise.all(o.members.flatMap((m) => Array.from({ length: o.inFlight }, (_, s) => slot(m, s))));
  await hooks;
  clearTimeout(cpuTimer);
  const cpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
  return {
    windowMs: o.durationMs,
    acksInWindow,
    latencies,
    sent,
    acked,
    errors,
    clientCpuPercent: round(((cpu.user + cpu.system) / 1000 / o.durationMs) * 100, 0),
  };
}

// ---- open-loop load -------------------------------------------------------------------------------

/** How many sends an open-loop schedule of `ratePerSec` has due `elapsedMs` after its start. */
export function dueSends(elapsedMs: number, ratePerSec: number): number {
  if (!(elapsedMs > 0) || !(ratePerSec > 0)) return 0;
  return Math.floor((elapsedMs * ratePerSec) / 1000);
}

export interface OpenLoadOptions {
  members: Member[];
  /** Sends per second over all members (round robin), whatever the acks do. */
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
  prefix: string;
  textLength?: number;
  ackTimeoutMs?: number;
}

/**
 * Open-loop load: sends issued on a fixed schedule (`ratePerSec`, spread round robin over the
 * members) whether or not earlier ones were acknowledged. A send's latency runs from the time the
 * schedule had it due, not from when the loop got round to it, so a stalled server cannot hide
 * its stall by slowing the sender down (no coordinated omission).
 */
export async function runOpenLoad(o: OpenLoadOptions): Promise<LoadResult> {
  const ackTimeoutMs = o.ackTimeoutMs ?? 20_000;
  const base = benchText(o.textLength ?? 100);
  const startAt = performance.now();
  const windowStart = startAt + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const count = (code: string) => (errors[code] = (errors[code] ?? 0) + 1);
  const pending: Promise<void>[] = [];
  let sent = 0;
  let acked = 0;
  let acksInWindow = 0;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  const send = (m: Member, n: number, dueAt: number) => {
    sent++;
    const clientMsgId = `${o.prefix}-${m.index}-o-${n}`;
    return m.socket
      .timeout(ackTimeoutMs)
      .emitWithAck('message:send', { clientMsgId, text: `${base} #${n}` })
      .then(
        (ack) => {
          const ackAt = performance.now();
          if (!ack.ok) return void count(ack.error.code);
          acked++;
          if (ackAt >= windowStart && ackAt <= windowEnd) acksInWindow++;
          if (dueAt >= windowStart && dueAt < windowEnd) latencies.push(ackAt - dueAt);
        },
        () => void count('timeout'),
      );
  };
  await new Promise<void>((resolve) => {
    let issued = 0;
    let windowOpen = false;
    const timer = setInterval(() => {
      const now = performance.now();
      if (!windowOpen && now >= windowStart) {
        windowOpen = true;
        cpuAtStart = process.cpuUsage();
      }
      const due = dueSends(Math.min(now, windowEnd) - startAt, o.ratePerSec);
      while (issued < due) {
        const m = o.members[issued % o.members.length]!;
        if (m.socket.connected) pending.push(send(m, issued, startAt + (issued * 1000) / o.ratePerSec));
        else count('disconnected');
        issued++;
      }
      if (now >= windowEnd) {
        cpuInWindow = process.cpuUsage(cpuAtStart);
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
  const cpu = cpuInWindow ?? process.cpuUsage(cpuAtStart);
  return { windowMs: o.durationMs, acksInWindow, latencies, sent, acked, errors, clientCpuPercent: round(((cpu.user + cpu.system) / 1000 / o.durationMs) * 100, 0) };
}

// ---- gateway /metrics --------------------------------------------------------------------------

/** One scrape of a process's `/metrics`. Each scrape also closes the gateway's loop-delay window. */
export async function scrapeMetricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(60_000) });
  if (!res.ok) throw new Error(`GET ${url}/metrics: ${res.status}`);
  return res.text();
}

/** A Prometheus histogram's cumulative bucket counts by `le`, summed over the series whose labels include every one of `labels`. */
export function histogramFrom(text: string, name: string, labels: string[] = []): Map<string, number> {
  const buckets = new Map<string, number>();
  for (const match of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const labelText = match[1]!;
    if (!labels.every((l) => labelText.includes(l))) continue;
    const le = /le="([^"]+)"/.exec(labelText)?.[1];
    if (le) buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

export async function scrapeHistogram(url: string, name: string, labels: string[] = []): Promise<Map<string, number>> {
  return histogramFrom(await scrapeMetricsText(url), name, labels);
}

/** `gateway_event_loop_delay_seconds` by quantile, ms, for the window since the scrape before `text`'s. */
export function loopDelayFrom(text: string): { p50: number; p99: number } {
  const read = (q: string) => {
    const match = new RegExp(`^gateway_event_loop_delay_seconds\\{[^}]*quantile="${q}"[^}]*\\} (\\S+)$`, 'm').exec(text);
    if (!match) throw new Error(`/metrics has no gateway_event_loop_delay_seconds{quantile="${q}"}`);
    return Number(match[1]) * 1000;
  };
  return { p50: read('0.5'), p99: read('0.99') };
}

/**
 * Of the observations between two scrapes of a histogram: how many, and how many took longer
 * than `le` seconds (a bucket bound). Tells where slow light acks were slow: in the commit
 * statement, in the gateway, or between the gateway and the client.
 */
export function slowerThan(before: Map<string, number>, after: Map<string, number>, le: string): { n: number; slower: number } {
  const diff = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const n = diff('+Inf');
  return { n, slower: n - diff(le) };
}

/**
 * The `q` quantile of the observations between two scrapes of a histogram, as the bound of the
 * first bucket that holds it (so "at most this"; `Infinity` when it is past the last bound), and
 * how many observations there were. Coarse by construction: it says in which band a tail lives.
 */
export function bucketQuantile(before: Map<string, number>, after: Map<string, number>, q: number): { n: number; atMostMs: number } {
  const bounds = [...after.keys()].map((le) => ({ le, bound: le === '+Inf' ? Infinity : Number(le) })).sort((a, b) => a.bound - b.bound);
  const diff = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const n = diff('+Inf');
  const want = q * n;
  for (const { le, bound } of bounds) if (diff(le) >= want) return { n, atMostMs: bound * 1000 };
  return { n, atMostMs: Infinity };
}

/** Prometheus text → sum of each metric's samples over its label sets. */
export function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    sums.set(match[1]!, (sums.get(match[1]!) ?? 0) + value);
  }
  return sums;
}

export interface GatewaySample {
  id: string;
  at: number;
  batches: number;
  events: number;
  commitSecondsSum: number;
  commitCount: number;
  rssBytes: number;
  cpuSeconds: number;
  rooms: number;
  sockets: number;
}

export async function sampleGateway(gw: { id: string; url: string }): Promise<GatewaySample> {
  const res = await fetch(`${gw.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${gw.url}/metrics: ${res.status}`);
  const m = parseMetrics(await res.text());
  const get = (name: string) => m.get(name) ?? 0;
  return {
    id: gw.id,
    at: performance.now(),
    batches: get('gateway_commit_batches_total'),
    events: get('gateway_commit_events_total'),
    commitSecondsSum: get('gateway_commit_duration_seconds_sum'),
    commitCount: get('gateway_commit_duration_seconds_count'),
    rssBytes: get('process_resident_memory_bytes'),
    cpuSeconds: get('process_cpu_seconds_total'),
    rooms: get('gateway_rooms_loaded'),
    sockets: get('gateway_connected_sockets'),
  };
}

export function sampleGateways(gateways: Array<{ id: string; url: string }>): Promise<GatewaySample[]> {
  return Promise.all(gateways.map(sampleGateway));
}

/** Per-gateway and total change between two samples of the same gateways. */
export function metricsDelta(before: GatewaySample[], after: GatewaySample[]) {
  const perGateway = after.map((a) => {
    const b = before.find((x) => x.id === a.id)!;
    const batches = a.batches - b.batches;
    const events = a.events - b.events;
    const commits = a.commitCount - b.commitCount;
    const seconds = (a.at - b.at) / 1000;
    return {
      id: a.id,
      batches,
      events,
      eventsPerBatch: round(batches ? events / batches : 0),
      commitAvgMs: round(commits ? ((a.commitSecondsSum - b.commitSecondsSum) / commits) * 1000 : 0),
      cpuPercent: round(seconds > 0 ? ((a.cpuSeconds - b.cpuSeconds) / seconds) * 100 : 0, 0),
      rssMiB: round(a.rssBytes / 2 ** 20, 1),
      rooms: a.rooms,
      sockets: a.sockets,
    };
  });
  const batches = perGateway.reduce((s, g) => s + g.batches, 0);
  const events = perGateway.reduce((s, g) => s + g.events, 0);
  const commitMs = after.reduce((s, a) => s + a.commitSecondsSum, 0) - before.reduce((s, b) => s + b.commitSecondsSum, 0);
  const commits = after.reduce((s, a) => s + a.commitCount, 0) - before.reduce((s, b) => s + b.commitCount, 0);
  return { batches, events, eventsPerBatch: round(batches ? events / batches : 0), commitAvgMs: round(commits ? (commitMs / commits) * 1000 : 0), perGateway };
}

/** Samples RSS every `everyMs` until stopped; the maximum per gateway (MiB). */
export function rssSampler(gateways: Array<{ id: string; url: string }>, everyMs = 1_000) {
  const max = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const samples = await sampleGateways(gateways).catch(() => []);
      for (const s of samples) max.set(s.id, Math.max(max.get(s.id) ?? 0, s.rssBytes));
      await sleep(everyMs);
    }
  })();
  return async (): Promise<Record<string, number>> => {
    stopped = true;
    await loop;
    return Object.fromEntries([...max].map(([id, bytes]) => [id, round(bytes / 2 ** 20, 1)]));
  };
}

export type { EventEnvelope };
