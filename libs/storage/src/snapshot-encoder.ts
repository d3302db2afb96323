import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { PutObjectCommand, type PutObjectCommandInput, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
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

/** Where a snapshot goes in S3. The writer adds the document's checksum to `metadata`. */
export interface SnapshotObject {
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
}

/** A snapshot written to S3: its size (gzip bytes) and the document's checksum. */
export interface WrittenSnapshot {
  bytes: number;
  checksum: string;
}

/**
 * A room state copied for a snapshot, not yet written: the store first checks that its lease
 * still holds, then calls `write` (or drops it, which costs nothing but the copy).
 */
export interface PreparedSnapshot {
  write(object: SnapshotObject): Promise<WrittenSnapshot>;
}

/** The PutObject of a snapshot (snapshot-encode.worker.mjs builds the same one in its thread). */
export function snapshotPutInput(object: SnapshotObject, body: Buffer, checksum: string): PutObjectCommandInput {
  return {
    Bucket: object.bucket,
    Key: object.key,
    Body: body,
    ContentLength: body.length,
    ContentType: object.contentType,
    Metadata: { checksum, ...object.metadata },
  };
}

/**
 * Turns a room state into a stored snapshot's bytes. `encode` and `prepare` copy the state before
 * they return (the room actor keeps folding commits into it meanwhile); only the rest is
 * asynchronous.
 */
export abstract class SnapshotEncoder {
  abstract encode(state: RoomState, createdAt?: Date): Promise<EncodedSnapshot>;

  /**
   * Copies `state` for a snapshot whose `write` encodes it and puts it with `s3`. Here encoding
   * starts at once (it overlaps the store's lease check) and the upload runs on the calling
   * thread; the WorkerSnapshotEncoder built with S3 settings does both in its thread instead.
   */
  prepare(state: RoomState, s3: S3Client): PreparedSnapshot {
    const encoding = this.encode(state);
    encoding.catch(() => undefined); // awaited by `write`, unless the snapshot is dropped
    return {
      write: async (object) => {
        const { body, checksum } = await encoding;
        await s3.send(new PutObjectCommand(snapshotPutInput(object, body, checksum)));
        return { bytes: body.length, checksum };
      },
    };
  }

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
 * The worker script's path. Under jest this module runs from its source directory, next to the
 * script. Built, it runs from dist/libs/storage/src, and tsc copies no .mjs: the script is then
 * read from the source tree, which every deployment ships beside dist/ (the Dockerfile copies the
 * whole repository).
 */
export function snapshotWorkerPath(moduleDir: string = __dirname): string {
  const candidates = [join(moduleDir, WORKER_FILE), join(moduleDir, '..', '..', '..', '..', 'libs', 'storage', 'src', WORKER_FILE)];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`snapshot encoder: worker script not found (looked for ${candidates.join(', ')})`);
  return found;
}

/**
 * Encoder threads: one beside the event loop on a two-core machine, two on larger ones. A fixed,
 * small number: encoding is a background duty and must not take the cores the loop needs.
 */
export const SNAPSHOT_ENCODER_THREADS = Math.min(2, Math.max(1, availableParallelism() - 1));

/**
 * Uploads one encoder thread waits on at once (piscina's concurrentTasksPerWorker) when it
 * uploads: the drain's lanes and the scheduler's concurrent snapshots fit, so no snapshot queues
 * behind another's S3 round trip. Encoding is synchronous, so the thread still encodes one at a
 * time.
 */
export const SNAPSHOT_UPLOADS_PER_THREAD = 8;

/** A task of snapshot-encode.worker.mjs: its default export takes a bare RoomStateCopy. */
type EncoderTask = RoomStateCopy | { copy: RoomStateCopy; object: SnapshotObject; s3: S3ClientConfig };

/**
 * Serialising, hashing and compressing in a piscina worker pool; the event loop only takes a
 * RoomStateCopy. The pool starts with the first snapshot and its threads end with `close()`.
 *
 * Given `s3` (plain settings: s3ClientConfig), `prepare` also uploads from the pool's thread: an
 * S3 PutObject costs the calling thread about 1.5–4 ms of the SDK's JavaScript (signing, hashing
 * the body, the HTTP request), which a gateway's event loop should spend on acks instead.
 */
export class WorkerSnapshotEncoder extends SnapshotEncoder {
  private pool: Piscina<EncoderTask, { body: Uint8Array; checksum: string } | WrittenSnapshot> | undefined;
  private closed = false;

  constructor(
    private readonly threads: number = SNAPSHOT_ENCODER_THREADS,
    private readonly s3?: S3ClientConfig,
  ) {
    super();
  }

  /** Whether the pool's threads exist (they are started by the first `encode`). */
  get started(): boolean {
    return this.pool !== undefined;
  }

  encode(state: RoomState, createdAt: Date = new Date()): Promise<EncodedSnapshot> {
    if (this.closed) return Promise.reject(new Error('snapshot encoder closed'));
    const copy = copyRoomState(state, createdAt);
    // A clone of a Buffer arrives as a plain Uint8Array: view it as a Buffer again (no copy).
    return this.run(copy, copy).then((result) => {
      const { body, checksum } = result as { body: Uint8Array; checksum: string };
      return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), checksum };
    });
  }

  override prepare(state: RoomState, s3: S3Client): PreparedSnapshot {
    const settings = this.s3;
    if (!settings) return super.prepare(state, s3);
    // The copy is taken now; encoding waits for `write`, so a dropped snapshot costs no thread time.
    const copy = copyRoomState(state, new Date());
    return {
      write: (object) => {
        if (this.closed) return Promise.reject(new Error('snapshot encoder closed'));
        return this.run({ copy, object, s3: settings }, copy, 'encodeAndPut') as Promise<WrittenSnapshot>;
      },
    };
  }

  /** Runs `task` in the pool (started on first use), moving the copy's columns rather than cloning them. */
  private run(task: EncoderTask, copy: RoomStateCopy, name?: string): Promise<unknown> {
    const uploads = this.s3 !== undefined;
    this.pool ??= new Piscina({
      filename: pathToFileURL(snapshotWorkerPath()).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      concurrentTasksPerWorker: uploads ? SNAPSHOT_UPLOADS_PER_THREAD : 1,
      // An uploading thread keeps its S3 client's sockets between tasks: its event loop must keep
      // running while idle (piscina's default blocks the thread in Atomics.wait).
      atomics: uploads ? 'async' : 'sync',
    });
    const r = copy.reactions;
    const transferList = [
      ...[copy.messageSeqs, copy.messageAuthors, copy.messageDeleted, copy.sentHashHi, copy.sentHashLo, copy.sentSeqs, copy.sentTsMs].map((column) => column.buffer),
      ...[r.seqs, r.emojiCounts, r.emoji, r.userCounts, r.users].map((column) => column.buffer),
    ];
    return this.pool.run(task, { transferList, name });
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

/**
 * The encoder a process uses: the worker pool (which also uploads, given `s3`), or with `inline`
 * (the bench's SNAPSHOT_ENCODE_INLINE, to measure the gateway as it was) everything on the event
 * loop.
 */
export function createSnapshotEncoder(options: { inline?: boolean; s3?: S3ClientConfig } = {}): SnapshotEncoder {
  return options.inline ? new InlineSnapshotEncoder() : new WorkerSnapshotEncoder(SNAPSHOT_ENCODER_THREADS, options.s3);
}
