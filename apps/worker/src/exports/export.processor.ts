import { type BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import {
  EXPORT_QUEUE,
  JOB_PAGE_SIZE,
  WORKER_LOCK_DURATION_MS,
  WORKER_MAX_STALLED_COUNT,
  WORKER_STALLED_INTERVAL_MS,
  type ExportJobData,
  type ExportJobProgress,
} from '../../../../libs/jobs/src';
import { ExportRepository, type ExportRecord } from '../../../../libs/persistence/src';
import { ExportStore } from '../../../../libs/storage/src';
import { releaseJob } from '../job-release';
import { collectGarbage } from './heap-relief';

/** Pages between full garbage collections during an export (see heap-relief.ts). */
export const GC_EVERY_PAGES = 4;

export interface ExportJobResult {
  exportId: string;
  events: number;
  bytes: number;
  /** True when the export was already done (a duplicate delivery) and nothing was written. */
  alreadyDone?: boolean;
}

/**
 * Queue `exports`: writes a room's log, up to the head seq recorded at request time, as gzip
 * NDJSON to S3 (one event envelope a line, ascending seq).
 *
 * Idempotent (DESIGN.md invariant 6): every attempt writes the whole file again from seq 1 under
 * the export's one key, from the same pages, so a retry after a crash (another worker picks the
 * job up once its 10 s lock expired) produces a byte-identical object. Memory is bounded by one
 * page of events plus the upload's parts in flight, whatever the room's size.
 */
@Processor(EXPORT_QUEUE, {
  concurrency: 1,
  lockDuration: WORKER_LOCK_DURATION_MS,
  stalledInterval: WORKER_STALLED_INTERVAL_MS,
  maxStalledCount: WORKER_MAX_STALLED_COUNT,
})
export class ExportProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ExportProcessor.name);

  constructor(
    private readonly exports: ExportRepository,
    private readonly store: ExportStore,
  ) {
    super();
  }

  /** Three parameters: BullMQ passes the abort signal only to processors that declare it. */
  async process(job: Job<ExportJobData>, token?: string, signal?: AbortSignal): Promise<ExportJobResult> {
    const { exportId } = job.data;
    const row = await this.exports.markRunning(exportId);
    if (!row) {
      this.logger.warn(`job ${job.id}: export ${exportId} no longer exists; nothing to do`);
      return { exportId, events: 0, bytes: 0 };
    }
    if (row.status === 'done') {
      this.logger.log(`job ${job.id}: export ${exportId} is already done; nothing to do`);
      return { exportId, events: row.events, bytes: row.bytes, alreadyDone: true };
    }
    const attempt = `attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1}`;
    this.logger.log(`job ${job.id}: exporting room ${row.roomId} seq 1..${row.headSeq} to ${row.key} (${attempt})`);
    const started = Date.now();

    const progress: ExportJobProgress = { events: 0, headSeq: row.headSeq, bytes: 0 };
    const report = async (events: number) => {
      progress.events = events;
      await Promise.all([job.updateProgress({ ...progress }), this.exports.progress(exportId, progress.events, progress.bytes)]);
    };
    try {
      const { bytes } = await this.store.upload(row.key, this.lines(row, report, signal), {
        signal,
        onBytes: (n) => (progress.bytes = n),
      });
      await this.exports.markDone(exportId, progress.events, bytes);
      await job.updateProgress({ ...progress, bytes });
      this.logger.log(`job ${job.id}: done, ${progress.events} events, ${bytes} bytes in ${Date.now() - started} ms`);
      return { exportId, events: progress.events, bytes };
    } catch (err) {
      if (signal?.aborted) {
        this.logger.log(`job ${job.id}: released at ${progress.events}/${row.headSeq} events (worker shutting down)`);
        await this.exports.markRequeued(exportId, null);
        throw await releaseJob(job, token);
      }
      const message = (err as Error).message ?? String(err);
      this.logger.error(`job ${job.id}: ${attempt} failed: ${message}`);
      // Queued again until BullMQ's retry runs; the `failed` handler below marks the last one.
      await this.exports.markRequeued(exportId, `${attempt} failed: ${message}`);
      throw err;
    }
  }

  /**
   * The NDJSON text of events 1..headSeq, one keyset page a chunk. A page is read only when the
   * previous one was taken by gzip (the stream pulls), and progress is reported then. The log is
   * gap-free (DESIGN.md invariant 2); a page that does not continue the previous one exactly
   * fails the attempt rather than writing a file with a hole.
   */
  private async *lines(row: ExportRecord, report: (events: number) => Promise<void>, signal?: AbortSignal): AsyncGenerator<string> {
    let cursor = 0;
    let pages = 0;
    while (cursor < row.headSeq) {
      signal?.throwIfAborted();
      const chunk = await this.readChunk(row, cursor);
      cursor = chunk.lastSeq;
      yield chunk.text;
      await report(cursor);
      if (++pages % GC_EVERY_PAGES === 0) collectGarbage();
    }
  }

  /** One page as NDJSON text; the page's objects are garbage as soon as this returns. */
  private async readChunk(row: ExportRecord, cursor: number): Promise<{ text: string; lastSeq: number }> {
    const page = await this.exports.readPage(row.roomId, cursor, row.headSeq, JOB_PAGE_SIZE);
    const last = page[page.length - 1];
    if (!last || page[0]!.seq !== cursor + 1 || last.seq !== cursor + page.length) {
      throw new Error(`room ${row.roomId}: the log does not continue gap-free after seq ${cursor} (head ${row.headSeq})`);
    }
    let text = '';
    for (const event of page) text += `${JSON.stringify(event)}\n`;
    return { text, lastSeq: last.seq };
  }

  /** A job that will not be retried any more (attempts spent, or stalled too often) fails its export. */
  @OnWorkerEvent('failed')
  async onFailed(job: Job<ExportJobData> | undefined, err: Error): Promise<void> {
    if (!job) return;
    try {
      if ((await job.getState()) !== 'failed') return;
      await this.exports.markFailed(job.data.exportId, err.message);
      this.logger.error(`job ${job.id}: export ${job.data.exportId} failed for good: ${err.message}`);
    } catch (e) {
      this.logger.error(`job ${job.id}: could not mark the export failed: ${(e as Error).message}`);
    }
  }

  /** Graceful stop: the current export is released (not finished), then the worker closes. */
  async beforeApplicationShutdown(): Promise<void> {
    this.worker.cancelAllJobs('worker shutting down');
    await this.worker.close();
  }
}
