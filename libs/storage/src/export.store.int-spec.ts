import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseConfig } from '../../config/src';
import { S3Server } from '../../../test/support/s3-server';
import { createS3Client, ensureBucket, isNotFound } from './s3';
import { EXPORT_PART_SIZE, ExportStore, exportKey } from './export.store';

/**
 * Real S3 protocol: the S3 server of the environment (S3_ENDPOINT, as `npm test` sets it) or one
 * started for this suite (scripts/s3-server.mjs via test/support, ended by PID).
 */
let server: S3Server | undefined;
let s3: S3Client;
let store: ExportStore;

beforeAll(async () => {
  let env: Record<string, string | undefined> = process.env;
  if (!process.env.S3_ENDPOINT) {
    server = await S3Server.start({ bucket: 'export-store-spec' });
    env = { ...process.env, ...server.env() };
  }
  const config = parseConfig(env);
  s3 = createS3Client(config.s3);
  await ensureBucket(s3, config.s3.bucket);
  store = new ExportStore(s3, config.s3.bucket);
}, 30_000);

afterAll(async () => {
  s3?.destroy();
  await server?.destroy();
});

/** `count` chunks of NDJSON-ish text; random hex so gzip cannot shrink them much. */
function chunks(count: number, seed = 'x'): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = '';
    for (let j = 0; j < 2000; j++) text += `{"seq":${i * 2000 + j},"text":"${createHash('sha256').update(`${seed}${i}-${j}`).digest('hex')}"}\n`;
    out.push(text);
  }
  return out;
}

async function* from(items: string[], failAt = -1): AsyncGenerator<string> {
  for (let i = 0; i < items.length; i++) {
    if (i === failAt) throw new Error('source broke');
    yield items[i]!;
  }
}

async function read(key: string): Promise<{ body: Buffer; contentLength: number }> {
  const { stream, contentLength } = await store.open(key);
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return { body: Buffer.concat(parts), contentLength };
}

async function exists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: (store as unknown as { bucket: string }).bucket, Key: key }));
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

describe(ExportStore.name, () => {
  it('names objects exports/<roomId>/<exportId>.ndjson.gz', () => {
    expect(exportKey('r-1', 'e-1')).toBe('exports/r-1/e-1.ndjson.gz');
  });

  it('uploads gzip NDJSON larger than several parts and reads it back whole', async () => {
    const input = chunks(160);
    const key = exportKey(randomUUID(), randomUUID());
    const seen: number[] = [];
    const { bytes } = await store.upload(key, from(input), { onBytes: (n) => seen.push(n) });
    expect(bytes).toBeGreaterThan(2 * EXPORT_PART_SIZE);
    expect(seen[seen.length - 1]).toBe(bytes);
    const { body, contentLength } = await read(key);
    expect(contentLength).toBe(bytes);
    expect(body.length).toBe(bytes);
    expect(gunzipSync(body).toString('utf8')).toBe(input.join(''));
  });

  it('writes byte-identical objects for the same chunks, and a rewrite of a key replaces it', async () => {
    const input = chunks(10, 'same');
    const [a, b] = [exportKey('room', randomUUID()), exportKey('room', randomUUID())];
    await store.upload(a, from(input));
    await store.upload(b, from(input));
    const first = await read(a);
    expect((await read(b)).body.equals(first.body)).toBe(true);
    await store.upload(a, from(chunks(3, 'other')));
    expect(gunzipSync((await read(a)).body).toString('utf8')).toBe(chunks(3, 'other').join(''));
  });

  it('rejects with the source’s error and leaves no object when the source fails mid-stream', async () => {
    const key = exportKey('room', randomUUID());
    await expect(store.upload(key, from(chunks(60), 50))).rejects.toThrow('source broke');
    expect(await exists(key)).toBe(false);
  });

  it('rejects and leaves no object when aborted', async () => {
    const key = exportKey('room', randomUUID());
    const controller = new AbortController();
    const input = chunks(60);
    async function* slow(): AsyncGenerator<string> {
      for (let i = 0; i < input.length; i++) {
        if (i === 20) controller.abort(new Error('shutting down'));
        yield input[i]!;
      }
    }
    await expect(store.upload(key, slow(), { signal: controller.signal })).rejects.toThrow();
    expect(await exists(key)).toBe(false);
  });

  it('fails to open a missing key with a not-found error', async () => {
    const err = await store.open(exportKey('room', randomUUID())).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
  });

  it('leaves the bytes of a random payload intact (binary-safe)', async () => {
    const text = randomBytes(1000).toString('base64');
    const key = exportKey('room', randomUUID());
    await store.upload(key, from([text]));
    expect(gunzipSync((await read(key)).body).toString('utf8')).toBe(text);
  });
});
