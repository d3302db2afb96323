/**
 * The baseline peer of the comparison bench (bench/peer.ts, issue 9) answers the gateway's
 * socket events the way the gateway does, so what the bench compares is the same conversation:
 * the same script runs against a real gateway and against the peer, and every ack, error code
 * and broadcast must have the same shape. Then a forked load process (bench/load-worker.ts)
 * drives the peer as the bench does. Nothing here is timed.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { EventEnvelope } from '../libs/domain/src';
import { startPeer, type PeerServer } from '../bench/peer';
import { connectWithAuth } from '../bench/lib';
import type { FromWorker, ToWorker } from '../bench/load-worker';
import { ApiClient, type ChatSocket, type TestUser } from './support/client';
import { ROOT, waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(120_000);

/** The shape of a value: its keys (recursively) and the types of its leaves, not its content. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]));
  }
  return typeof value;
}

interface Transcript {
  join: unknown;
  send: unknown;
  resend: { sameSeq: boolean };
  invalid: unknown;
  unknownField: unknown;
  edit: unknown;
  editOthers: unknown;
  deleteMissing: unknown;
  del: unknown;
  broadcastToSender: unknown;
  broadcastToOther: EventEnvelope[];
  rejoinAfter: unknown;
}

/** The same conversation with either server: two sockets of two users in one room. */
async function converse(a: ChatSocket, b: ChatSocket): Promise<Transcript> {
  const seenByA: EventEnvelope[] = [];
  const seenByB: EventEnvelope[] = [];
  a.on('room:event', (e) => seenByA.push(e));
  b.on('room:event', (e) => seenByB.push(e));
  const join = await a.timeout(10_000).emitWithAck('room:join', {});
  await b.timeout(10_000).emitWithAck('room:join', {});
  const send = await a.timeout(10_000).emitWithAck('message:send', { clientMsgId: 'smoke-1', text: 'hello peer' });
  const resend = await a.timeout(10_000).emitWithAck('message:send', { clientMsgId: 'smoke-1', text: 'hello peer' });
  const invalid = await a.timeout(10_000).emitWithAck('message:send', { clientMsgId: '', text: 'x' });
  const unknownField = await a.timeout(10_000).emitWithAck('message:send', { clientMsgId: 'smoke-2', text: 'x', colour: 'red' } as never);
  if (!send.ok || !resend.ok) throw new Error(`send failed: ${JSON.stringify(send)} ${JSON.stringify(resend)}`);
  const editOthers = await b.timeout(10_000).emitWithAck('message:edit', { seq: send.seq, text: 'not mine' });
  const edit = await a.timeout(10_000).emitWithAck('message:edit', { seq: send.seq, text: 'hello again' });
  const deleteMissing = await a.timeout(10_000).emitWithAck('message:delete', { seq: 999_999 });
  const del = await a.timeout(10_000).emitWithAck('message:delete', { seq: send.seq });
  await waitFor('three broadcasts at both sockets', async () => seenByA.length >= 3 && seenByB.length >= 3, 10_000, 20);
  const rejoinAfter = await b.timeout(10_000).emitWithAck('room:join', { afterSeq: send.seq - 1 });
  return {
    join,
    send,
    resend: { sameSeq: resend.seq === send.seq },
    invalid,
    unknownField,
    edit,
    editOthers,
    deleteMissing,
    del,
    broadcastToSender: seenByA.map((e) => e.type),
    broadcastToOther: seenByB,
    rejoinAfter,
  };
}

describe('bench baseline peer (e2e)', () => {
  let stack: TestStack;
  let peer: PeerServer;
  let api: ApiClient;
  let alice: TestUser;
  let bob: TestUser;
  const sockets: ChatSocket[] = [];

  beforeAll(async () => {
    [stack, peer] = await Promise.all([TestStack.start({ name: 'peer', gateways: 1, env: { RATE_LIMIT_MSG_PER_SEC: '0' } }), startPeer()]);
    api = new ApiClient(stack.apiUrl);
    [alice, bob] = await Promise.all([api.register('alice'), api.register('bob')]);
  });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  afterAll(async () => {
    await peer?.close();
    await stack?.stop();
  });

  async function oursPair(): Promise<[ChatSocket, ChatSocket]> {
    const room = await api.createRoom(alice.token, 'peer smoke');
    const [ia, ib] = [await api.connection(alice.token, room.id), await api.connection(bob.token, room.id)];
    const pair: [ChatSocket, ChatSocket] = [await connectWithAuth(ia.url, { ticket: ia.ticket }, 10_000), await connectWithAuth(ib.url, { ticket: ib.ticket }, 10_000)];
    sockets.push(...pair);
    return pair;
  }

  async function peerPair(roomId: string): Promise<[ChatSocket, ChatSocket]> {
    const auth = (u: TestUser) => ({ roomId, userId: u.user.id, username: u.user.username });
    const pair: [ChatSocket, ChatSocket] = [await connectWithAuth(peer.url, auth(alice), 10_000), await connectWithAuth(peer.url, auth(bob), 10_000)];
    sockets.push(...pair);
    return pair;
  }

  it('answers every event of the script with the same ack shapes, error codes and broadcasts as a real gateway', async () => {
    const ours = await converse(...(await oursPair()));
    const theirs = await converse(...(await peerPair('smoke-room')));

    // Same outcome of every step (ok or the same error code) ...
    const outcome = (t: Transcript) =>
      Object.fromEntries(
        Object.entries(t)
          .filter(([k]) => !['broadcastToOther', 'broadcastToSender', 'resend'].includes(k))
          .map(([k, v]) => [k, (v as { ok: boolean; error?: { code: string } }).ok ? 'ok' : (v as { error: { code: string } }).error.code]),
      );
    expect(outcome(theirs)).toEqual(outcome(ours));
    expect(outcome(ours)).toEqual({
      join: 'ok',
      send: 'ok',
      invalid: 'invalid',
      unknownField: 'invalid',
      edit: 'ok',
      editOthers: 'forbidden',
      deleteMissing: 'not_found',
      del: 'ok',
      rejoinAfter: 'ok',
    });
    // ... the same shapes of what comes back ...
    for (const key of ['join', 'send', 'invalid', 'edit', 'del', 'rejoinAfter'] as const) expect([key, shape(theirs[key])]).toEqual([key, shape(ours[key])]);
    expect(theirs.resend).toEqual({ sameSeq: true });
    expect(ours.resend).toEqual({ sameSeq: true });
    // ... and the same broadcasts, to the sender too, in seq order, as the same envelopes.
    expect(theirs.broadcastToSender).toEqual(['member.joined', 'message.posted', 'message.edited', 'message.deleted']);
    expect(ours.broadcastToSender).toEqual(theirs.broadcastToSender);
    expect(theirs.broadcastToOther.map((e) => e.type)).toEqual(ours.broadcastToOther.map((e) => e.type));
    expect(theirs.broadcastToOther.map(shape)).toEqual(ours.broadcastToOther.map(shape));
    const seqs = theirs.broadcastToOther.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('refuses a handshake without a room and user, as the gateway refuses one without a ticket', async () => {
    await expect(connectWithAuth(peer.url, {}, 5_000)).rejects.toThrow('connect_error unauthorized');
    await expect(connectWithAuth(stack.gateways[0]!.url, {}, 5_000)).rejects.toThrow('connect_error unauthorized');
  });

  it('is driven by a forked load process exactly as the bench drives it: every send acked, seqs gap-free', async () => {
    const child = fork(join(ROOT, 'bench/load-worker.ts'), [], { cwd: ROOT, execArgv: ['-r', join(ROOT, 'bench/register.js')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ask = (msg: ToWorker) =>
      new Promise<FromWorker>((resolve, reject) => {
        child.once('message', (m: FromWorker) => resolve(m));
        child.once('exit', (code) => reject(new Error(`load worker exited ${code}`)));
        child.send(msg);
      });
    try {
      const targets = [alice, bob].map((u) => ({ url: peer.url, auth: { roomId: 'load-room', userId: u.user.id, username: u.user.username }, roomId: 'load-room', userId: u.user.id, username: u.user.username }));
      expect((await ask({ type: 'connect', targets })).type).toBe('ready');
      const answer = await ask({ type: 'run', job: { kind: 'closed', inFlight: 2, warmupMs: 100, durationMs: 500, prefix: 'load', textLength: 120 } });
      if (answer.type !== 'result' || answer.result.kind !== 'closed') throw new Error(`unexpected answer ${JSON.stringify(answer).slice(0, 200)}`);
      expect(answer.result.errors).toEqual({});
      expect(answer.result.acked).toBe(answer.result.sent);
      expect(answer.result.acked).toBeGreaterThan(0);
      // Its own loop delay over the window, beyond the histogram's 5 ms resolution: a number, not
      // the resolution itself (an idle loop is ~0) and never a whole window's stall.
      expect(answer.result.loopDelayP99Ms).toBeGreaterThanOrEqual(0);
      expect(answer.result.loopDelayP99Ms).toBeLessThan(500);
      expect(answer.result.loopDelayMaxMs).toBeGreaterThanOrEqual(answer.result.loopDelayP99Ms);
      // The peer numbered every acknowledged send once: its head is 1 (room.created) + 2
      // (member.joined of bob and of the probe: alice, the first, created the room) + the acks.
      const probe = await connectWithAuth(peer.url, { roomId: 'load-room', userId: 'probe', username: 'probe' }, 5_000);
      sockets.push(probe);
      const join = await probe.timeout(5_000).emitWithAck('room:join', {});
      expect(join.ok && join.room.headSeq).toBe(1 + 2 + answer.result.acked);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
