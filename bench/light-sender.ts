/**
 * The snapshot-wave bench's light sender, in a process of its own (bench/snapshot-wave.ts forks
 * it): one `message:send` every `everyMs` into its room, open loop (whether or not the previous
 * one was acknowledged, so a stall cannot hide behind a single slow sample), until told to stop.
 * In the bench's own process its acks waited behind the bench's work (500 sockets, polling,
 * scrapes); here the only thing between the gateway and this clock is the machine.
 *
 *   parent → `{type: 'start', url, auth, prefix, everyMs, timeoutMs}`  connects and joins,
 *   child  → `{type: 'ready'}`                                          and starts sending;
 *   parent → `{type: 'stop'}`
 *   child  → `{type: 'result', samples, errors, sent}`                  then exits 0.
 *
 * `samples[].sentAt` is epoch ms (performance.timeOrigin + performance.now()), comparable with
 * the parent's clock. Any failure is `{type: 'error', message}` and exit 1.
 */
import { performance } from 'node:perf_hooks';
import { connectWithAuth } from './lib';

export type ToLightSender =
  | { type: 'start'; url: string; auth: Record<string, string>; prefix: string; everyMs: number; timeoutMs: number }
  | { type: 'stop' };
export interface LightSample {
  /** Epoch ms. */
  sentAt: number;
  ms: number;
}
export type FromLightSender =
  | { type: 'ready' }
  | { type: 'result'; samples: LightSample[]; errors: Record<string, number>; sent: number }
  | { type: 'error'; message: string };

const reply = (msg: FromLightSender) => new Promise<void>((resolve) => process.send!(msg, () => resolve()));
const epochNow = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const start = await new Promise<Extract<ToLightSender, { type: 'start' }>>((resolve) =>
    process.once('message', (msg: ToLightSender) => msg.type === 'start' && resolve(msg)),
  );
  const socket = await connectWithAuth(start.url, start.auth, 20_000);
  const joined = await socket.timeout(20_000).emitWithAck('room:join', {});
  if (!joined.ok) throw new Error(`room:join: ${joined.error.code} ${joined.error.message}`);

  const samples: LightSample[] = [];
  const errors: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const send = () => {
    const sentAt = epochNow();
    const sending = socket
      .timeout(start.timeoutMs)
      .emitWithAck('message:send', { clientMsgId: `${start.prefix}-${n++}`, text: `light #${n}` })
      .then(
        (ack) => {
          if (ack.ok) samples.push({ sentAt, ms: epochNow() - sentAt });
          else errors[ack.error.code] = (errors[ack.error.code] ?? 0) + 1;
        },
        () => {
          // Unanswered within the timeout: counted at the timeout, a lower bound of its latency.
          errors.timeout = (errors.timeout ?? 0) + 1;
          samples.push({ sentAt, ms: start.timeoutMs });
        },
      )
      .finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  };
  const stopped = new Promise<void>((resolve) => process.on('message', (msg: ToLightSender) => msg.type === 'stop' && resolve()));
  const timer = setInterval(send, start.everyMs);
  await reply({ type: 'ready' });
  await stopped;
  clearInterval(timer);
  await Promise.all(inFlight);
  socket.close();
  await reply({ type: 'result', samples, errors, sent: n });
}

main().then(
  () => process.exit(0),
  async (err) => {
    await reply({ type: 'error', message: (err as Error).stack ?? String(err) }).catch(() => undefined);
    process.exit(1);
  },
);
