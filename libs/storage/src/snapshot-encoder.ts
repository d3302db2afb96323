import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { Piscina } from 'piscina';
import { copyRoomState, encodeSnapshotDocument, type RoomState, type RoomStateCopy } from '../../domain/src';

const gzip = promisify(gzipCb);

/**
 * zlib level of a snapshot's gzip (snapshot-encode.worker.mjs uses the same; the spec compares
 * their bytes). Level 1: for a full 815 KB document, 6.4 ms instead of 12.0 at the default 6,
 * for 3.5 % more bytes. A snapshot is written every SNAPSHOT_EVERY_EVENTS of a busy room and read
 * once per resume, so its encoding CPU is what counts.
 */
export const SNAPSHOT_GZIP_LEVEL = 1;

/** A snapshot ready for S3: the gzip of the document JSON and the document's checksum. */
export interface EncodedSnapshot {
  body: Buffer;
  /** sha256 hex of the state JSON (SnapshotDocument.checksum). */
  checksum: string;
}

/**
 * Turns a room state into a stored snapshot's bytes. `encode` copies the state before it returns
 * (the room actor keeps folding commits into it meanwhile); only the rest is asynchronous.
 */
export abstract class SnapshotEncoder {
  abstract encode(state: RoomState, createdAt?: Date): Promise<EncodedSnapshot>;

  /** Releases the encoder's threads, if any. Encoding afterwards rejects. */
  abstract close(): Promise<void>;

  /**
   * Nest's last shutdown phase, after the gateway's drain (beforeApplicationShutdown) wrote its
   * final snapshots. Duck-typed so that this library needs no Nest.
   */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

/**
 * Everything on the calling thread: JSON and sha256 synchronously, gzip on libuv's pool. Blocks
 * the event loop for tens of ms per MB of state; kept for the bench's "before" figure
 * (SNAPSHOT_ENCODE_INLINE=1) and as the default of a SnapshotStore built without an encoder.
 */
export class InlineSnapshotEncoder extends SnapshotEncoder {
  private closed = false;

  encode(state: RoomState, createdAt: Date = new Date()): Promise<EncodedSnapshot> {
    if (this.closed) return Promise.reject(new Error('snapshot encoder closed'));
    const { json, checksum } = encodeSnapshotDocument(state, createdAt);
    return gzip(Buffer.from(json, 'utf8'), { level: SNAPSHOT_GZIP_LEVEL }).then((body) => ({ body, checksum }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

const WORKER_FILE = 'snapshot-encode.worker.mjs';

/**
 * The encoder's worker script path (see workerScriptPath).
 */
export function snapshotWorkerPath(moduleDir: string = __dirname): string {
  return workerScriptPath(WORKER_FILE, moduleDir);
}

/**
 * The path of one of this library's worker scripts (`.mjs` beside this module). Under jest this
 * module runs from its source directory, next to the script. Built, it runs from
 * dist/libs/storage/src, and tsc copies no .mjs: the script is then read from the source tree,
 * which every deployment ships beside dist/ (the Dockerfile copies the whole repository).
 */
export function workerScriptPath(file: string, moduleDir: string = __dirname): string {
  const candidates = [join(moduleDir, file), join(moduleDir, '..', '..', '..', '..', 'libs', 'storage', 'src', file)];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`worker script not found: ${file} (looked for ${candidates.join(', ')})`);
  return found;
}

/**
 * Encoder threads: one beside the event loop on a two-core machine, two on larger ones. A fixed,
 * small number: encoding is a background duty and must not take the cores the loop needs.
 */
export const SNAPSHOT_ENCODER_THREADS = Math.min(2, Math.max(1, availableParallelism() - 1));

/**
 * Serialising, hashing and compressing in a piscina worker pool; the event loop only takes a
 * RoomStateCopy. The pool starts with the first snapshot and its threads end with `close()`.
 */
export class WorkerSnapshotEncoder extends SnapshotEncoder {
  private pool: Piscina<RoomStateCopy, { body: Uint8Array; checksum: string }> | undefined;
  private closed = false;

  constructor(private readonly threads: number = SNAPSHOT_ENCODER_THREADS) {
    super();
  }

  /** Whether the pool's threads exist (they are started by the first `encode`). */
  get started(): boolean {
    return this.pool !== undefined;
  }

  encode(state: RoomState, createdAt: Date = new Date()): Promise<EncodedSnapshot> {
    if (this.closed) return Promise.reject(new Error('snapshot encoder closed'));
    const copy = copyRoomState(state, createdAt);
    this.pool ??= new Piscina({
      filename: pathToFileURL(snapshotWorkerPath()).href,
      minThreads: this.threads,
      maxThreads: this.threads,
    });
    const r = copy.reactions;
    const transferList = [
      ...[copy.messageSeqs, copy.messageAuthors, copy.messageDeleted, copy.sentHashHi, copy.sentHashLo, copy.sentSeqs, copy.sentTsMs].map((column) => column.buffer),
      ...[r.seqs, r.emojiCounts, r.emoji, r.userCounts, r.users].map((column) => column.buffer),
    ];
    // A clone of a Buffer arrives as a plain Uint8Array: view it as a Buffer again (no copy).
    return this.pool
      .run(copy, { transferList })
      .then(({ body, checksum }) => ({ body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), checksum }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

/**
 * The encoder a process uses: the worker pool, or with `inline` (the bench's SNAPSHOT_ENCODE_INLINE,
 * to measure the gateway as it was) everything on the event loop.
 */
export function createSnapshotEncoder(options: { inline?: boolean } = {}): SnapshotEncoder {
  return options.inline ? new InlineSnapshotEncoder() : new WorkerSnapshotEncoder();
}
