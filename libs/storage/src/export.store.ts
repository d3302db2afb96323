import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** Multipart part size of an export upload, bytes (S3's minimum part size). */
export const EXPORT_PART_SIZE = 5 * 1024 * 1024;
/** Parts of one export upload in flight at once. */
export const EXPORT_UPLOAD_QUEUE_SIZE = 2;
export const EXPORT_CONTENT_TYPE = 'application/gzip';

/** `exports/<roomId>/<exportId>.ndjson.gz`: one room's exports list with one prefix. */
export function exportKey(roomId: string, exportId: string): string {
  return `exports/${roomId}/${exportId}.ndjson.gz`;
}

export interface ExportUploadOptions {
  /** Aborts the upload (worker shutdown); `upload` then rejects and no object is written. */
  signal?: AbortSignal;
  /** Called as compressed bytes leave gzip, with the running total. */
  onBytes?: (bytes: number) => void;
}

export interface ExportDownload {
  stream: Readable;
  /** Object size, bytes. */
  contentLength: number;
}

/**
 * Room log exports in S3: gzip NDJSON written with a multipart upload and read back as a stream.
 *
 * Memory stays bounded whatever the room's size: the text source is pulled one chunk at a time,
 * only when gzip has room, and gzip's output only as fast as the upload takes it (at most
 * `EXPORT_UPLOAD_QUEUE_SIZE` parts of `EXPORT_PART_SIZE` in flight, plus the part being filled).
 *
 * The same text chunks give the same object bytes (zlib is deterministic and Node's gzip header
 * carries no timestamp or name), so a retried export rewrites an identical object under its key.
 */
export class ExportStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * Writes `chunks` (NDJSON text), gzip-compressed, to `key`, replacing any object there. Resolves
   * with the object's size once S3 has it; rejects (leaving no object and no parts behind) when
   * the source throws, S3 fails or `signal` aborts.
   */
  async upload(key: string, chunks: AsyncIterable<string>, options: ExportUploadOptions = {}): Promise<{ bytes: number }> {
    const { signal, onBytes } = options;
    signal?.throwIfAborted();
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
        bytes += chunk.length;
        onBytes?.(bytes);
        callback(null, chunk);
      },
    });
    // highWaterMark 1: the source reads at most one chunk ahead of gzip.
    const source = Readable.from(chunks, { objectMode: true, highWaterMark: 1 });
    let streamError: Error | undefined;
    const body = pipeline(source, createGzip(), counter, (err) => {
      if (err) streamError = err;
    });

    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: EXPORT_CONTENT_TYPE },
      partSize: EXPORT_PART_SIZE,
      queueSize: EXPORT_UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const onAbort = () => {
      body.destroy(signal?.reason instanceof Error ? signal.reason : new Error('export upload aborted'));
      void upload.abort().catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      // The upload's own error is often a consequence ("stream destroyed"); the source's is the cause.
      throw streamError ?? err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (streamError) throw streamError;
    return { bytes };
  }

  /** The object at `key` as a stream, with its size. Rejects with S3's NoSuchKey when it is missing. */
  async open(key: string): Promise<ExportDownload> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!object.Body) throw new Error(`export object ${key} has no body`);
    return { stream: object.Body as Readable, contentLength: Number(object.ContentLength ?? 0) };
  }
}
