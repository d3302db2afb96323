import { pathToFileURL } from 'node:url';
import { PutObjectCommand, type PutObjectCommandInput, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Piscina } from 'piscina';
import { workerScriptPath } from './snapshot-encoder';

/** A snapshot object for S3: where it goes, its gzip bytes and its metadata. */
export interface SnapshotObject {
  bucket: string;
  key: string;
  body: Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

/** The PutObject of a snapshot (snapshot-upload.worker.mjs builds the same one in its thread). */
export function snapshotPutInput(object: SnapshotObject): PutObjectCommandInput {
  return {
    Bucket: object.bucket,
    Key: object.key,
    Body: object.body,
    ContentLength: object.body.length,
    ContentType: object.contentType,
    Metadata: object.metadata,
  };
}

/** Writes snapshot objects to S3. Rejects on any S3 or network failure (the caller retries). */
export abstract class SnapshotUploader {
  abstract put(object: SnapshotObject): Promise<void>;

  /** Releases the uploader's thread, if any. Uploading afterwards rejects. */
  abstract close(): Promise<void>;

  /** Nest's last shutdown phase, after the drain's final snapshots (duck-typed: no Nest here). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

/** Uploads with the calling thread's client: the worker app, the tests, SNAPSHOT_ENCODE_INLINE. */
export class CallingThreadSnapshotUploader extends SnapshotUploader {
  constructor(private readonly s3: S3Client) {
    super();
  }

  async put(object: SnapshotObject): Promise<void> {
    await this.s3.send(new PutObjectCommand(snapshotPutInput(object)));
  }

  async close(): Promise<void> {}
}

/**
 * Uploads waiting on S3 at once in the uploader thread (piscina's concurrentTasksPerWorker): the
 * drain's lanes and the scheduler's concurrent snapshots fit, so no snapshot queues behind
 * another's round trip.
 */
export const SNAPSHOT_UPLOADS_IN_FLIGHT = 8;

/** A task of snapshot-upload.worker.mjs: an upload (its default export) or its `warmUp`. */
type UploaderTask = { object: SnapshotObject; s3: S3ClientConfig } | { s3: S3ClientConfig; bucket: string };

/**
 * Uploads from a thread of its own, with an S3 client built there from the same settings
 * (s3ClientConfig): a PutObject costs the calling thread 2.5 ms of event-loop time for a 150 KB
 * snapshot and 3.7 ms for 1 MB (the SDK's signing, body hash and request), which a gateway's loop
 * should spend on acks. The thread runs at the normal priority, unlike the encoder's: an upload is
 * on the path of every unload and drain, and must not starve when the cores are busy. The body
 * moves to it without a copy.
 *
 * The thread starts with the application (onApplicationBootstrap), or else with the first upload:
 * starting it, loading the SDK in it and the SDK's first request take about 300 ms, which a drain's
 * first snapshot should not wait for.
 */
export class ThreadSnapshotUploader extends SnapshotUploader {
  private pool: Piscina<UploaderTask, void> | undefined;
  private closed = false;

  constructor(
    private readonly s3: S3ClientConfig,
    /** The bucket the gateway writes to: `onApplicationBootstrap` warms the thread's client on it. */
    private readonly bucket?: string,
  ) {
    super();
  }

  /** Whether the thread exists (see `start`). */
  get started(): boolean {
    return this.pool !== undefined;
  }

  /**
   * Nest's bootstrap phase (duck-typed): start the thread and warm its client in the background,
   * before the first snapshot needs them; the gateway's start does not wait for S3.
   */
  onApplicationBootstrap(): void {
    void this.warmUp();
  }

  /** Starts the thread and, given a bucket, sends one HEAD of it from there. Never rejects. */
  warmUp(): Promise<void> {
    if (this.closed) return Promise.resolve();
    const pool = this.start();
    if (this.bucket === undefined) return Promise.resolve();
    return pool.run({ s3: this.s3, bucket: this.bucket }, { name: 'warmUp' }).catch(() => undefined);
  }

  put(object: SnapshotObject): Promise<void> {
    if (this.closed) return Promise.reject(new Error('snapshot uploader closed'));
    const pool = this.start();
    const { body } = object;
    // Move the body's memory rather than clone it, unless it shares an ArrayBuffer (Node's pool).
    const movable = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    return pool.run({ object, s3: this.s3 }, movable ? { transferList: [body.buffer as ArrayBuffer] } : {});
  }

  /** Starts the thread (piscina loads the worker script, and with it the SDK, as it starts). */
  private start(): Piscina<UploaderTask, void> {
    if (this.closed) throw new Error('snapshot uploader closed');
    return (this.pool ??= new Piscina({
      filename: pathToFileURL(workerScriptPath('snapshot-upload.worker.mjs')).href,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: SNAPSHOT_UPLOADS_IN_FLIGHT,
      // The thread keeps its client's sockets between uploads: its event loop must keep running
      // while idle (piscina's default blocks an idle thread in Atomics.wait).
      atomics: 'async',
      // The thread's own V8 heap: its default young generation is most of what it would cost
      // (an uploader thread at 400 uploads: +64 MiB RSS by default, +40 MiB with this).
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    }));
  }

  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}
