import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Queue } from 'bullmq';
import { bullProducer, EXPORT_QUEUE, ExportRequests } from '../../../../libs/jobs/src';
import { ExportRepository, RoomRepository, type ExportRecord } from '../../../../libs/persistence/src';
import { ExportStore } from '../../../../libs/storage/src';
import { parseArgs, secondsOption } from '../args';
import type { CliContext } from '../cli-context';
import { CliError, UsageError } from '../cli-errors';
import { ProgressBar, sleep } from '../output';

export const EXPORT_POLL_MS = 250;
/** Default bound on the wait for the worker, seconds (`--timeout`). */
export const EXPORT_DEFAULT_TIMEOUT_S = 3600;
/** After this long still `queued`, say that a worker may be missing. */
const QUEUED_HINT_MS = 10_000;

/**
 * `export <roomId> [--out FILE] [--timeout SECONDS]`: queues an export exactly like
 * `POST /admin/rooms/:roomId/exports`, shows the worker's progress (events written / the head seq
 * the export is consistent as of) on stderr, then downloads the file from S3 to FILE (default
 * ./room-<roomId>.ndjson.gz). The file appears only once complete.
 */
export async function exportCommand(args: string[], open: () => CliContext): Promise<void> {
  const parsed = parseArgs('export', args, ['out', 'timeout']);
  if (parsed.positionals.length !== 1) throw new UsageError('export needs <roomId>');
  const roomId = parsed.positionals[0]!;
  const out = resolve(parsed.options.get('out') ?? `room-${roomId}.ndjson.gz`);
  const timeoutS = secondsOption('export', parsed, 'timeout', EXPORT_DEFAULT_TIMEOUT_S);
  const ctx = open();
  const jobs = bullProducer(ctx.config);
  const queue = new Queue(EXPORT_QUEUE, { connection: jobs.connection, prefix: jobs.prefix });
  try {
    const exports = new ExportRepository(ctx.db);
    const created = await new ExportRequests(new RoomRepository(ctx.db), exports, queue).create(roomId);
    process.stderr.write(`export ${created.id} queued: room ${roomId}, ${created.headSeq} event(s)\n`);
    const done = await waitUntilDone(exports, created, timeoutS);
    const tmp = `${out}.part`;
    try {
      const { stream } = await new ExportStore(ctx.s3, ctx.config.s3.bucket).open(done.key);
      await pipeline(stream, createWriteStream(tmp));
      await rename(tmp, out);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new CliError(`download of export ${done.id} failed: ${(err as Error).message}`);
    }
    console.log(`wrote ${out} (${done.events} events, ${done.bytes} bytes gzip)`);
  } finally {
    await queue.close().catch(() => undefined);
    await jobs.close();
    await ctx.close();
  }
}

async function waitUntilDone(exports: ExportRepository, created: ExportRecord, timeoutS: number): Promise<ExportRecord> {
  const bar = new ProgressBar(process.stderr, created.headSeq, 'events');
  const started = Date.now();
  let hinted = false;
  try {
    for (;;) {
      const row = await exports.get(created.id);
      if (!row) throw new CliError(`export ${created.id} disappeared`);
      if (row.status === 'failed') throw new CliError(`export ${row.id} failed: ${row.error ?? 'unknown error'}`);
      if (row.status !== 'queued') bar.update(row.events);
      if (row.status === 'done') return row;
      if (row.status === 'queued' && !hinted && Date.now() - started > QUEUED_HINT_MS) {
        hinted = true;
        process.stderr.write('still queued: is a worker running? (npm run start:worker)\n');
      }
      if (Date.now() - started > timeoutS * 1000) {
        throw new CliError(`export ${row.id} still ${row.status} after ${timeoutS}s (it stays queued; check the worker)`);
      }
      await sleep(EXPORT_POLL_MS);
    }
  } finally {
    bar.finish();
  }
}
