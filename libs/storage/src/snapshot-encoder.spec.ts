import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  applyEvent,
  decodeSnapshotDocument,
  DEDUP_WINDOW,
  emptyRoomState,
  encodeSnapshotDocument,
  MESSAGE_WINDOW,
  serializeRoomState,
  type EventEnvelope,
  type RoomState,
} from '../../domain/src';
import { InlineSnapshotEncoder, SNAPSHOT_GZIP_LEVEL, snapshotWorkerPath, WorkerSnapshotEncoder, workerScriptPath } from './snapshot-encoder';

const ROOM = '7b0c8e52-33a4-4d0a-9a55-6f1f2b0f2b8e';
const ALICE = { id: 'a1a1a1a1-0000-4000-8000-000000000001', username: 'alice' };
const BOB = { id: 'b2b2b2b2-0000-4000-8000-000000000002', username: 'bob' };
const CREATED_AT = new Date('2026-11-27T10:11:12.345Z');

/**
 * A room folded from `posts` posts (alternating authors, every third one deleted, one system
 * message), whose ids and name hold what JSON must escape or encode: quotes, backslashes,
 * U+2028, non-BMP characters.
 */
function room(posts: number, name = 'Ünïcode "room" \\ \u2028 😀'): RoomState {
  const state = emptyRoomState(ROOM);
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  const events: EventEnvelope[] = [
    { roomId: ROOM, seq: 1, type: 'room.created', ts: new Date(base).toISOString(), actor: ALICE, data: { name } },
  ];
  for (let i = 0; i < posts; i++) {
    const seq = events.length + 1;
    const ts = new Date(base + seq * 1000).toISOString();
    const actor = i === 5 ? null : i % 2 ? BOB : ALICE;
    events.push({ roomId: ROOM, seq, type: 'message.posted', ts, actor, data: { text: `m${seq}` }, clientMsgId: `${'x'.repeat(50)}-"\\-😀-${i}` });
    if (i % 3 === 2) events.push({ roomId: ROOM, seq: seq + 1, type: 'message.deleted', ts, actor, data: { seq } });
    // Reactions (format 3) on some live messages, with an emoji JSON must encode.
    else if (i % 4 === 1) {
      events.push({ roomId: ROOM, seq: seq + 1, type: 'reaction.added', ts, actor: ALICE, data: { seq, emoji: '👍🏽' } });
      events.push({ roomId: ROOM, seq: seq + 2, type: 'reaction.added', ts, actor: BOB, data: { seq, emoji: ':"tada":' } });
    }
  }
  for (const e of events) applyEvent(state, e);
  return state;
}

/** A send whose ts is not what Date#toISOString writes: the window keeps it as text. */
function withImportedTs(state: RoomState): RoomState {
  state.headSeq += 1;
  state.sent.set(ALICE.id, 'imported', state.headSeq, '2025-12-31T23:59:59.123456Z');
  return state;
}

describe(WorkerSnapshotEncoder.name, () => {
  const encoder = new WorkerSnapshotEncoder(1);
  afterAll(() => encoder.close());

  it.each([
    ['an empty room', () => emptyRoomState(ROOM)],
    ['a small room with escapes, deletions and a system message', () => room(40)],
    ['a room whose windows are full (about 0.8 MB of JSON)', () => room(DEDUP_WINDOW + 10, 'big')],
    ['a room with a ts kept as text (an imported row with microseconds)', () => withImportedTs(room(12))],
  ])('writes exactly the bytes and checksum of encodeSnapshotDocument: %s', async (_name, make) => {
    const state = make();
    const expected = encodeSnapshotDocument(state, CREATED_AT);
    const encoded = await encoder.encode(state, CREATED_AT);
    expect(Buffer.isBuffer(encoded.body)).toBe(true);
    expect(encoded.checksum).toBe(expected.checksum);
    const json = gunzipSync(encoded.body).toString('utf8');
    expect(json).toBe(expected.json);
    expect(createHash('sha256').update(json).digest('hex')).toBe(createHash('sha256').update(expected.json).digest('hex'));
    expect(serializeRoomState(decodeSnapshotDocument(json, { roomId: ROOM, seq: state.headSeq }))).toEqual(serializeRoomState(state));
  });

  it('the full room really fills both windows', () => {
    const state = room(DEDUP_WINDOW + 10);
    expect(state.sent.size).toBe(DEDUP_WINDOW);
    expect(state.messages.size).toBe(MESSAGE_WINDOW);
  });

  it('copies the state before encode() returns: later changes are not in the snapshot', async () => {
    const state = room(30);
    const expected = encodeSnapshotDocument(state, CREATED_AT).json;
    const encoding = encoder.encode(state, CREATED_AT);
    const more = room(60);
    state.headSeq = more.headSeq;
    state.messages = more.messages;
    state.sent = more.sent;
    for (const seq of [...more.messages.keys()]) more.messages.markDeleted(seq);
    expect(gunzipSync((await encoding).body).toString('utf8')).toBe(expected);
  });

  it('encodes concurrent snapshots independently', async () => {
    const states = [room(3), room(17), room(200), room(1)];
    const encoded = await Promise.all(states.map((s) => encoder.encode(s, CREATED_AT)));
    expect(encoded.map((e) => gunzipSync(e.body).toString('utf8'))).toEqual(states.map((s) => encodeSnapshotDocument(s, CREATED_AT).json));
  });

  it('compresses at SNAPSHOT_GZIP_LEVEL, byte for byte as the inline encoder does', async () => {
    const state = room(200);
    const [fromWorker, inline] = await Promise.all([encoder.encode(state, CREATED_AT), new InlineSnapshotEncoder().encode(state, CREATED_AT)]);
    expect(fromWorker.body.equals(inline.body)).toBe(true);
    expect(inline.body.equals(gzipSync(Buffer.from(encodeSnapshotDocument(state, CREATED_AT).json, 'utf8'), { level: SNAPSHOT_GZIP_LEVEL }))).toBe(true);
    // The gzip header's XFL byte names the end of zlib's range that wrote it: 4, its fastest level.
    expect(SNAPSHOT_GZIP_LEVEL).toBe(1);
    expect(fromWorker.body[8]).toBe(4);
  });

  (process.platform === 'linux' ? it : it.skip)('encodes at a lower priority than the event loop (Linux: nice 10 on its own thread)', async () => {
    const niceOfThreads = () =>
      readdirSync('/proc/self/task').map((tid) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
    const before = niceOfThreads().filter((n) => n === 10).length;
    const loopPriority = getPriority(0);
    const own = new WorkerSnapshotEncoder(1);
    try {
      await own.encode(room(2));
      expect(niceOfThreads().filter((n) => n === 10).length).toBe(before + 1);
      expect(getPriority(0)).toBe(loopPriority); // this (the event loop's) thread is untouched
    } finally {
      await own.close();
    }
  });

  it('starts its threads with the first snapshot and refuses to encode once closed', async () => {
    const lazy = new WorkerSnapshotEncoder(1);
    expect(lazy.started).toBe(false);
    await lazy.encode(room(2));
    expect(lazy.started).toBe(true);
    await lazy.onApplicationShutdown();
    expect(lazy.started).toBe(false);
    await expect(lazy.encode(room(2))).rejects.toThrow(/closed/);
  });
});

describe(InlineSnapshotEncoder.name, () => {
  it('gzips encodeSnapshotDocument', async () => {
    const state = room(25);
    const encoded = await new InlineSnapshotEncoder().encode(state, CREATED_AT);
    expect(gunzipSync(encoded.body).toString('utf8')).toBe(encodeSnapshotDocument(state, CREATED_AT).json);
    expect(encoded.checksum).toBe(encodeSnapshotDocument(state, CREATED_AT).checksum);
  });
});

describe(snapshotWorkerPath.name, () => {
  const source = join(resolve(__dirname), 'snapshot-encode.worker.mjs');

  it('finds the script beside this module (jest runs the sources)', () => {
    expect(snapshotWorkerPath(__dirname)).toBe(source);
  });

  it('finds the script in the source tree from the built module in dist/', () => {
    expect(snapshotWorkerPath(resolve(__dirname, '../../../dist/libs/storage/src'))).toBe(source);
  });

  it('names the places it looked when the script is missing', () => {
    expect(() => snapshotWorkerPath('/nonexistent/x/y/z')).toThrow(/worker script not found.*snapshot-encode\.worker\.mjs/);
  });

  it("finds the uploader's script the same way (workerScriptPath), from the sources and from dist/", () => {
    const uploader = join(resolve(__dirname), 'snapshot-transfer.worker.mjs');
    expect(workerScriptPath('snapshot-transfer.worker.mjs', __dirname)).toBe(uploader);
    expect(workerScriptPath('snapshot-transfer.worker.mjs', resolve(__dirname, '../../../dist/libs/storage/src'))).toBe(uploader);
  });
});
