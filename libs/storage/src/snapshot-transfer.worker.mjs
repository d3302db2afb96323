// Uploads snapshot objects to S3 and reads them back from a piscina worker thread, so that a
// gateway's event loop spends nothing on the SDK (see ThreadSnapshotTransfer in
// snapshot-transfer.ts).
//
// Plain JavaScript on purpose, like snapshot-encode.worker.mjs: the same file runs from the
// source tree under jest (which cannot transform code inside a worker thread) and next to the
// built dist/ in production.
// A worker thread prints its process warnings to stderr itself, past the gateway's logger (which
// only hears the main thread's): with LOG_FORMAT=json that would be a line that is not JSON. The
// one warning the SDK gives here is its Node-version notice, which the main thread's own client
// has logged already; any other warning is printed as Node would.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'NodeVersionSupportWarning' || String(warning.message).includes('NodeVersionSupportWarning')) return;
  for (const print of printWarning) print(warning);
});
// Imported after the listener above is in place.
const { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
const { move } = await import('piscina');

// One client for the thread, rebuilt only if the settings change (they come with every task).
let client;
let clientSettings;

function s3Client(settings) {
  const key = JSON.stringify(settings);
  if (key !== clientSettings) {
    client?.destroy();
    client = new S3Client(settings);
    clientSettings = key;
  }
  return client;
}

/**
 * @param task `{ object, s3 }`: a SnapshotObject (its body a Uint8Array) and the plain settings of
 *   s3ClientConfig (libs/storage/src/s3.ts), i.e. the calling thread's own client.
 */
export default async function putSnapshot({ object, s3 }) {
  const body = Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength);
  // snapshotPutInput of snapshot-transfer.ts.
  const input = { Bucket: object.bucket, Key: object.key, Body: body, ContentLength: body.length, ContentType: object.contentType, Metadata: object.metadata };
  try {
    await s3Client(s3).send(new PutObjectCommand(input));
  } catch (err) {
    // An error crosses back to the calling thread as a structured clone, which keeps only a
    // built-in error's message: put the SDK's name, code and status into it, so that the log line
    // of the failed snapshot still says what S3 or the network did.
    throw new Error(describeError(err));
  }
}

/**
 * A snapshot object's bytes, moved to the calling thread; or, on any failure, `{ error }` with the
 * SDK's name, code and HTTP status (a thrown error would cross as a clone that keeps only its
 * message, and the store tells a missing object from an unreachable S3 by them).
 * @param task `{ s3, bucket, key }`.
 */
export async function getSnapshot({ s3, bucket, key }) {
  try {
    const object = await s3Client(s3).send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!object.Body) return { error: { name: 'Error', message: 'empty object body' } };
    const bytes = await object.Body.transformToByteArray();
    // Move the memory rather than copy it, unless it shares an ArrayBuffer (Node's buffer pool,
    // which other buffers of this thread still use).
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? move(bytes) : bytes;
  } catch (err) {
    return { error: errorFields(err) };
  }
}

function errorFields(err) {
  const fields = { name: String(err?.name ?? 'Error'), message: String(err?.message ?? err) };
  if (typeof err?.code === 'string') fields.code = err.code;
  const status = err?.$metadata?.httpStatusCode;
  if (typeof status === 'number') fields.httpStatusCode = status;
  return fields;
}

/**
 * Builds the thread's client and makes one cheap request with it (HEAD of the bucket), so that the
 * first snapshot, often a drain's, does not pay for the SDK's first request (~300 ms cold). Never
 * rejects: an S3 that is down now is the first upload's business.
 * @param task `{ s3, bucket }`.
 */
export async function warmUp({ s3, bucket }) {
  await s3Client(s3)
    .send(new HeadBucketCommand({ Bucket: bucket }))
    .catch(() => undefined);
}

/** The upload's error as one line: what S3 or the network did, from the same fields as a read's. */
function describeError(err) {
  const { name, message, code, httpStatusCode } = errorFields(err);
  const codePart = code && code !== name ? ` ${code}` : '';
  const statusPart = httpStatusCode ? ` (HTTP ${httpStatusCode})` : '';
  return `snapshot upload failed: ${name}${codePart}${statusPart}: ${message}`;
}
