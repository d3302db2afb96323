import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import { CorruptSnapshotError, decodeSnapshotDocument, SNAPSHOT_FORMAT, type RoomState } from '../../domain/src';
import type { SnapshotMeta, SnapshotRepository } from '../../persistence/src';
import { isNotFound } from './s3';
import { InlineSnapshotEncoder, type SnapshotEncoder } from './snapshot-encoder';
import { CallingThreadSnapshotTransfer, type SnapshotTransfer } from './snapshot-transfer';

const gunzip = promisify(gunzipCb);

/** How many snapshots `loadNewest` tries, newest first, before giving up on snapshots. */
export const SNAPSHOT_LOAD_CANDIDATES = 5;
/** Cap on a decompressed snapshot document, bytes: a corrupt or hostile object must not exhaust memory. */
export const MAX_SNAPSHOT_DOCUMENT_BYTES = 256 * 1024 * 1024;

/** `rooms/<roomId>/snapshots/<seq, 10 digits>`: keys sort by seq, and one room lists with one prefix. */
export function snapshotKey(roomId: string, seq: number): string {
  return `rooms/${roomId}/snapshots/${String(seq).padStart(10, '0')}`;
}

export interface SnapshotSaveResult {
  /** `stale`: the room's epoch moved on (another owner holds it); no metadata row was written. */
  outcome: 'saved' | 'stale';
  /** The head seq the snapshot holds. */
  seq: number;
  /** Bytes written to S3 (gzip); 0 when nothing was written. */
  bytes: number;
}

/**
 * Room state snapshots in S3 with their metadata in Postgres (DESIGN.md invariants 3 and 5).
 * The object is written first and the row second, so a row always points at a written object;
 * an object without a row (crash in between, or a fenced writer) is never read.
 */
export class SnapshotStore {
  constructor(
    s3: S3Client,
    private readonly bucket: string,
    private readonly repo: SnapshotRepository,
    private readonly log: (msg: string) => void = (msg) => console.warn(msg),
    /** The apps pass a WorkerSnapshotEncoder, which keeps encoding off their event loop. */
    private readonly encoder: SnapshotEncoder = new InlineSnapshotEncoder(),
    /** The gateway passes a ThreadSnapshotTransfer, which keeps the SDK's work off its loop. */
    private readonly transfer: SnapshotTransfer = new CallingThreadSnapshotTransfer(s3),
  ) {}

  /**
   * Stores a snapshot of `state` at `state.headSeq`, written under lease `epoch`. The encoder
   * copies the state synchronously, before the first await, so the caller may keep folding events
   * into `state` meanwhile. `stale` when `epoch` is no longer the room's epoch, checked before the
   * upload and again, atomically, when the row is recorded (a same-seq object a fenced writer
   * left behind holds the same state, so it is not deleted). S3 and Postgres errors reject; the
   * caller retries with backoff.
   */
  async save(state: RoomState, epoch: number): Promise<SnapshotSaveResult> {
    const roomId = state.roomId;
    const seq = state.headSeq;
    const encoding = this.encoder.encode(state);
    encoding.catch(() => undefined); // awaited below, unless the epoch check ends the save first
    if ((await this.repo.currentEpoch(roomId)) !== epoch) return { outcome: 'stale', seq, bytes: 0 };

    const { body, checksum } = await encoding;
    const key = snapshotKey(roomId, seq);
    const bytes = body.length; // read first: a transfer thread may take the body's memory
    await this.transfer.put({
      bucket: this.bucket,
      key,
      body,
      contentType: 'application/gzip',
      metadata: { checksum, format: String(SNAPSHOT_FORMAT), seq: String(seq), epoch: String(epoch) },
    });
    const recorded = await this.repo.recordIfCurrent({ roomId, seq, epoch, key, bytes, checksum });
    return { outcome: recorded ? 'saved' : 'stale', seq, bytes };
  }

  /**
   * The newest usable snapshot with seq <= `maxSeq` (the committed head), trying up to
   * `SNAPSHOT_LOAD_CANDIDATES` of them newest first; a missing, unreadable or corrupt one is
   * logged and the next older one tried. Null when none is usable: the caller replays the log
   * from seq 1. Rejects only when Postgres fails; with S3 unreachable it logs once and returns
   * null rather than waiting out the timeouts of every older candidate.
   */
  async loadNewest(roomId: string, maxSeq: number): Promise<{ state: RoomState; seq: number } | null> {
    const candidates = await this.repo.newest(roomId, maxSeq, SNAPSHOT_LOAD_CANDIDATES);
    for (const meta of candidates) {
      try {
        return { state: await this.read(meta), seq: meta.seq };
      } catch (err) {
        if (isUnreachable(err)) {
          this.log(`snapshot ${roomId}@${meta.seq} unusable: S3 unreachable (${describe(err)}); replaying the log instead`);
          return null;
        }
        this.log(`snapshot ${roomId}@${meta.seq} unusable: ${describe(err)}; trying an older one`);
      }
    }
    return null;
  }

  private async read(meta: SnapshotMeta): Promise<RoomState> {
    const compressed = await this.transfer.get(this.bucket, meta.key);
    let json: Buffer;
    try {
      json = await gunzip(compressed, { maxOutputLength: MAX_SNAPSHOT_DOCUMENT_BYTES });
    } catch (err) {
      throw new CorruptSnapshotError('json', `not gzip: ${(err as Error).message}`);
    }
    return decodeSnapshotDocument(json.toString('utf8'), { roomId: meta.roomId, seq: meta.seq });
  }
}

const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE'];
const NETWORK_CODE_RE = new RegExp(`\\b(${NETWORK_CODES.join('|')})\\b`);

/**
 * A transport failure (connection refused or reset, DNS, timeout) rather than an answer from S3:
 * every other object would fail the same way. Service answers carry an HTTP status. The message
 * is checked too because the SDK wraps errors from another realm (e.g. under Jest) into a plain
 * Error whose message is all that is left of the code.
 */
function isUnreachable(err: unknown): boolean {
  if (err instanceof CorruptSnapshotError || err instanceof S3ServiceException) return false;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.$metadata?.httpStatusCode !== undefined) return false;
  return (
    e?.name === 'TimeoutError' ||
    e?.name === 'RequestTimeout' ||
    NETWORK_CODES.includes(e?.code ?? '') ||
    NETWORK_CODE_RE.test(String(e?.message ?? ''))
  );
}

function describe(err: unknown): string {
  if (isNotFound(err)) return 'object missing';
  if (err instanceof CorruptSnapshotError) return `corrupt (${err.reason}): ${err.message}`;
  const e = err as { name?: string; code?: string; message?: string };
  return `${e?.name ?? 'Error'}${e?.code && e.code !== e.name ? ` ${e.code}` : ''}: ${String(e?.message ?? err).split('\n')[0]}`;
}
