import { CreateBucketCommand, HeadBucketCommand, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { AppConfig } from '../../config/src';

/** Connect timeout for S3 requests, ms: an unreachable endpoint must fail fast, not hang a load. */
export const S3_CONNECTION_TIMEOUT_MS = 2_000;
/** Socket inactivity timeout for S3 requests, ms. */
export const S3_REQUEST_TIMEOUT_MS = 5_000;

/**
 * The S3 client of a process, for AWS S3, MinIO or s3rver (tests, local stack).
 *
 * Checksums are calculated and validated only when an operation requires them: with the SDK's
 * default mode s3rver stores a streamed body with its aws-chunked framing (ENVIRONMENT.md), and
 * snapshot documents carry their own sha256 anyway. Two attempts at most and short timeouts,
 * because every caller here (snapshots, exports) has a slower but correct fallback or retries
 * itself with backoff.
 */
export function createS3Client(
  s3config: AppConfig['s3'],
  /** Socket inactivity timeout; downloads streamed to slow HTTP clients need more than the default. */
  options: { requestTimeoutMs?: number } = {},
): S3Client {
  return new S3Client(s3ClientConfig(s3config, options));
}

/**
 * The settings of createS3Client as plain data, which a worker thread can be handed (structured
 * clone) to build the same client there: the gateway's snapshot transfer thread does.
 */
export function s3ClientConfig(s3config: AppConfig['s3'], options: { requestTimeoutMs?: number } = {}): S3ClientConfig {
  return {
    endpoint: s3config.endpoint,
    region: s3config.region,
    credentials: { accessKeyId: s3config.accessKeyId, secretAccessKey: s3config.secretAccessKey },
    forcePathStyle: s3config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    // Shorthand for the SDK's own NodeHttpHandler options (no direct @smithy dependency needed).
    requestHandler: {
      connectionTimeout: S3_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? S3_REQUEST_TIMEOUT_MS,
      // Without this the handler only logs a warning when the timeout passes and keeps waiting:
      // an S3 endpoint that accepts connections but never answers would hang room loads.
      throwOnRequestTimeout: true,
    },
  };
}

/** Creates `bucket` unless it exists already (idempotent, safe when several processes race). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if ((err as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw err;
  }
}

/** True for an S3 "no such bucket/key" answer (HEAD requests carry no error code, only 404). */
export function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  if (name === 'NotFound' || name === 'NoSuchBucket' || name === 'NoSuchKey') return true;
  return err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404;
}
