/**
 * A load-generating process of the comparison bench (bench/compare-main.ts forks it with
 * `child_process.fork`), so the clients never share a process, an event loop or a CPU quota with
 * what they measure. It speaks to its parent over IPC:
 *
 *   parent → `{type: 'connect', targets}`   connects every target (Socket.IO, `room:join {}`),
 *   worker → `{type: 'ready', connectMs}`
 *   parent → `{type: 'run', job}`           runs one job (closed loop, open loop or fan-out),
 *   worker → `{type: 'result', result}`     with the raw latencies, so the parent can merge them,
 *   parent → `{type: 'close'}`              closes every socket and exits 0.
 *
 * Any failure is `{type: 'error', message}` and exit 1. The same code drives the gateway and
 * the baseline peer: only each target's URL and handshake `auth` differ.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { EventEnvelope } from '../libs/domain/src';
import type { ChatSocket } from '../test/support/client';
import { benchText, closeAll, connectWithAuth, type LoadResult, mapLimit, type Member, runLoad, runOpenLoad, sleep } from './lib';

/** One socket to open: where, with which handshake, as whom. */
export interface LoadTarget {
  url: string;
  auth: Record<string, string>;
  roomId: string;
  userId: string;
  username: string;
}

export type LoadJob =
  | { kind: 'closed'; inFlight: number; warmupMs: number; durationMs: number; prefix: string; textLength: number }
  | { kind: 'open'; ratePerSec: number; warmupMs: number; durationMs: number; prefix: string; textLength: number }
  | { kind: 'fanout'; messages: number; prefix: string; textLength: number; timeoutMs: number };

export interface FanoutResult {
  /** Per message: send → its ack (ms). */
  ackMs: number[];
  /** Per message: send → the last of every socket's delivery (ms). */
  lastDeliveryMs: number[];
  recipients: number;
  /** Messages whose deliveries were not all seen within `timeoutMs`. */
  incomplete: number;
}

/** This load process's own event-loop delay over a job's measured window (ms). */
export interface ClientLoopDelay {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export type WorkerResult = ({ kind: 'closed' | 'open' } & LoadResult & ClientLoopDelay) | ({ kind: 'fanout' } & FanoutResult);

export type ToWorker = { type: 'connect'; targets: LoadTarget[] } | { type: 'run'; job: LoadJob } | { type: 'close' };
export type FromWorker = { type: 'ready'; connectMs: number } | { type: 'result'; result: WorkerResult } | { type: 'error'; message: string };

const JOIN_TIMEOUT_MS = 20_000;

async function connect(targets: LoadTarget[]): Promise<Member[]> {
  return mapLimit(targets, 16, async (t, index) => {
    const socket: ChatSocket = await connectWithAuth(t.url, t.auth, JOIN_TIMEOUT_MS);
    const ack = await socket.timeout(JOIN_TIMEOUT_MS).emitWithAck('room:join', {});
    if (!ack.ok) {
      socket.close();
      throw new Error(`room:join ${t.roomId} on ${t.url}: ${ack.error.code} ${ack.error.message}`);
    }
    return { index, user: { token: '', user: { id: t.userId, username: t.username, role: 'user' } }, roomId: t.roomId, gatewayId: t.url, socket };
  });
}

/**
 * 1 sender (the first member), every member listening: each message is sent once the previous
 * one reached every socket (or timed out), and timed from its send to its last delivery.
 */
async function fanout(members: Member[], job: Extract<LoadJob, { kind: 'fanout' }>): Promise<FanoutResult> {
  const sender = members[0]!;
  let waiting: { id: string; left: number; done: (at: number) => void } | undefined;
  const onEvent = (event: EventEnvelope) => {
    if (waiting && event.clientMsgId === waiting.id && --waiting.left === 0) waiting.done(performance.now());
  };
  for (const m of members) m.socket.on('room:event', onEvent);
  const result: FanoutResult = { ackMs: [], lastDeliveryMs: [], recipients: members.length, incomplete: 0 };
  const text = benchText(job.textLength);
  try {
    for (let n = 0; n < job.messages; n++) {
      const id = `${job.prefix}-f-${n}`;
      const delivered = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), job.timeoutMs);
        waiting = { id, left: members.length, done: (at) => (clearTimeout(timer), resolve(at)) };
      });
      const sentAt = performance.now();
      const ack = await sender.socket.timeout(job.timeoutMs).emitWithAck('message:send', { clientMsgId: id, text });
      if (!ack.ok) throw new Error(`fan-out send: ${ack.error.code} ${ack.error.message}`);
      result.ackMs.push(performance.now() - sentAt);
      const lastAt = await delivered;
      if (lastAt === undefined) result.incomplete++;
      else result.lastDeliveryMs.push(lastAt - sentAt);
      await sleep(20);
    }
  } finally {
    for (const m of members) m.socket.off('room:event', onEvent);
  }
  return result;
}

/**
 * This process's event-loop delay from `warmupMs` to the end of the window. A latency is timed
 * from when its send was due, so a load process that stalls (its GC, waiting for a core) adds
 * its stall to every ack in flight, whichever server it measures: this figure says when a tail
 * is the client's own.
 */
async function loopDelayOver(warmupMs: number, durationMs: number): Promise<ClientLoopDelay> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  await sleep(warmupMs);
  histogram.enable();
  await sleep(durationMs);
  histogram.disable();
  // The histogram counts the timer's resolution in: what is left is the delay beyond it.
  const beyondResolution = (ns: number) => Math.max(0, ns / 1e6 - 5);
  return { loopDelayP99Ms: beyondResolution(histogram.percentile(99)), loopDelayMaxMs: beyondResolution(histogram.max) };
}

async function runJob(members: Member[], job: LoadJob): Promise<WorkerResult> {
  if (job.kind === 'fanout') return { kind: 'fanout', ...(await fanout(members, job)) };
  const loopDelay = loopDelayOver(job.warmupMs, job.durationMs);
  const load = job.kind === 'open' ? runOpenLoad({ members, ...job }) : runLoad({ members, ...job });
  return { kind: job.kind, ...(await load), ...(await loopDelay) };
}

function main(): void {
  if (!process.send) throw new Error('bench/load-worker.ts runs only as a forked child (IPC)');
  const reply = (msg: FromWorker) => process.send!(msg);
  let members: Member[] = [];
  process.on('message', (msg: ToWorker) => {
    const step = async () => {
      if (msg.type === 'connect') {
        const at = performance.now();
        members = await connect(msg.targets);
        reply({ type: 'ready', connectMs: performance.now() - at });
      } else if (msg.type === 'run') {
        reply({ type: 'result', result: await runJob(members, msg.job) });
      } else {
        closeAll(members);
        process.disconnect();
        setTimeout(() => process.exit(0), 50);
      }
    };
    step().catch((err: unknown) => {
      reply({ type: 'error', message: (err as Error).message });
      closeAll(members);
      setTimeout(() => process.exit(1), 50);
    });
  });
  // The parent died: nothing left to measure for.
  process.on('disconnect', () => {
    closeAll(members);
    setTimeout(() => process.exit(0), 50).unref();
  });
}

if (require.main === module) main();
