import { pathToFileURL } from 'node:url';
import { GetObjectCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
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

/** The PutObject of a snapshot (snapshot-transfer.worker.mjs builds the same one in its thread). */
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

/**
 * Moves snapshot objects to and from S3. Rejects on any S3 or network failure, with the SDK's
 * error or one that carries its `name`, `code` and HTTP status (the store tells a missing object
 * from an unreachable S3 by them).
 */
export abstract class SnapshotTransfer {
  abstract put(object: SnapshotObject): Promise<void>;

  /** The object's bytes (the gzip a `put` wrote). */
  abstract get(bucket: string, key: string): Promise<Uint8Array>;

  /** Releases the transfer thread, if any. Transfers afterwards reject. */
  abstract close(): Promise<void>;

  /** Nest's last shutdown phase, after the drain's final snapshots (duck-typed: no Nest here). */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

/** Transfers with the calling thread's client: the worker app, the tests, SNAPSHOT_ENCODE_INLINE. */
export class CallingThreadSnapshotTransfer extends SnapshotTransfer {
  constructor(private readonly s3: S3Client) {
    super();
  }

  async put(object: SnapshotObject): Promise<void> {
    await this.s3.send(new PutObjectCommand(snapshotPutInput(object)));
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) throw new Error('empty object body');
    return object.Body.transformToByteArray();
  }

  async close(): Promise<void> {}
}

/**
 * Transfers waiting on S3 at once in the transfer thread (piscina's concurrentTasksPerWorker):
 * the drain's 8 lanes and the scheduler's 4 concurrent snapshots, with room left for the loads
 * of rooms that a failover or a reconnect storm brings, so no transfer queues behind another's
 * round trip in the common case.
 */
export const SNAPSHOT_TRANSFERS_IN_FLIGHT = 16;

/** S3's or the network's error as it crosses back from the thread (see `rebuildError`). */
interface TransferErrorFields {
  name: string;
  message: string;
  code?: string;
  httpStatusCode?: number;
}

/** A task of snapshot-transfer.worker.mjs: an upload (its default export), a `getSnapshot`, or its `warmUp`. */
type TransferTask = { object: SnapshotObject; s3: S3ClientConfig } | { s3: S3ClientConfig; bucket: string; key?: string };
type TransferResult = void | Uint8Array | { error: TransferErrorFields };

/**
 * The thread's error as the SDK would have thrown it, as far as the store looks at one: its name
 * (`NoSuchKey`, `TimeoutError`), code (`ECONNREFUSED`) and HTTP status (`$metadata`). A thrown
 * error would cross as a structured clone that keeps only its message.
 */
function rebuildError(fields: TransferErrorFields): Error {
  const error = new Error(fields.message) as Error & { code?: string; $metadata?: { httpStatusCode: number } };
  error.name = fields.name;
  if (fields.code !== undefined) error.code = fields.code;
  if (fields.httpStatusCode !== undefined) error.$metadata = { httpStatusCode: fields.httpStatusCode };
  return error;
}

/**
 * Uploads and downloads from a thread of its own, with an S3 client built there from the same
 * settings (s3ClientConfig): a PutObject costs the calling thread 2.5 ms of event-loop time for a
 * 150 KB snapshot and 3.7 ms for 1 MB (the SDK's signing, body hash and request), and a GetObject
 * about as much, which a gateway's loop should spend on acks: a failover or a drain brings
 * hundreds of room loads at once, and every reload of a hibernated room reads its snapshot. The
 * thread runs at the normal priority, unlike the encoder's: transfers are on the path of every
 * load, unload and drain, and must not starve when the cores are busy. Bodies move between the
 * threads without a copy.
 *
 * The thread starts with the application (onApplicationBootstrap), or else with the first transfer:
 * starting it, loading the SDK in it and the SDK's first request take about 300 ms, which a drain's
 * first snapshot should not wait for.
 */
export class ThreadSnapshotTransfer extends SnapshotTransfer {
  private pool: Piscina<TransferTask, TransferResult> | undefined;
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
    return pool.run({ s3: this.s3, bucket: this.bucket }, { name: 'warmUp' }).then(
      () => undefined,
      () => undefined,
    );
  }

  put(object: SnapshotObject): Promise<void> {
    if (this.closed) return Promise.reject(new Error('snapshot transfer closed'));
    const pool = this.start();
    const { body } = object;
    // Move the body's memory rather than clone it, unless it shares an ArrayBuffer (Node's pool).
    const movable = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    return pool.run({ object, s3: this.s3 }, movable ? { transferList: [body.buffer as ArrayBuffer] } : {}).then(() => undefined);
  }

  async get(bucket: string, key: string): Promise<Uint8Array> {
    if (this.closed) throw new Error('snapshot transfer closed');
    const result = await this.start().run({ s3: this.s3, bucket, key }, { name: 'getSnapshot' });
    // ArrayBuffer.isView, not instanceof: under jest the bytes come from another realm.
    if (ArrayBuffer.isView(result)) return result as Uint8Array;
    throw rebuildError((result as { error: TransferErrorFields }).error);
  }

  /** Starts the thread (piscina loads the worker script, and with it the SDK, as it starts). */
  private start(): Piscina<TransferTask, TransferResult> {
    if (this.closed) throw new Error('snapshot transfer closed');
    return (this.pool ??= new Piscina({
      filename: pathToFileURL(workerScriptPath('snapshot-transfer.worker.mjs')).href,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: SNAPSHOT_TRANSFERS_IN_FLIGHT,
      // The thread keeps its client's sockets between transfers: its event loop must keep running
      // while idle (piscina's default blocks an idle thread in Atomics.wait).
      atomics: 'async',
      // The thread's own V8 heap: its default young generation is most of what it would cost
      // (the thread at 400 uploads: +64 MiB RSS by default, +40 MiB with this).
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
