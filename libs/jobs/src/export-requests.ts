import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { z } from 'zod';
import { DomainError } from '../../domain/src';
import type { ExportFormat, ExportRecord, ExportRepository, RoomRepository } from '../../persistence/src';
import { exportKey } from '../../storage/src/export.store';
import { EXPORT_JOB, EXPORT_JOB_OPTIONS, exportJobId, type ExportJobData } from './queues';

/** Body of `POST /admin/rooms/:roomId/exports` (strict: unknown fields are `invalid`). */
export const exportRequestSchema = z.strictObject({
  format: z.literal('ndjson', { error: 'format must be "ndjson"' }),
});

/**
 * Requests a room log export: records it (`queued`, consistent as of the room's head now) and
 * enqueues its job. Shared by the API and the CLI, so both create exports the same way.
 */
export class ExportRequests {
  constructor(
    private readonly rooms: RoomRepository,
    private readonly exports: ExportRepository,
    private readonly queue: Queue,
    /**
     * How long to wait for Redis to take the job, ms: BullMQ waits for a first connection for
     * ever, and a request must answer within about a second when Redis is down.
     */
    private readonly enqueueTimeoutMs = 1_000,
  ) {}

  /** `not_found` for an unknown room; `unavailable` when the job could not be queued. */
  async create(roomId: string, format: ExportFormat = 'ndjson'): Promise<ExportRecord> {
    const room = await this.rooms.find(roomId);
    if (!room) throw new DomainError('not_found', `no room "${roomId}"`);
    const id = randomUUID();
    const record = await this.exports.create({ id, roomId: room.id, format, headSeq: room.headSeq, key: exportKey(room.id, id) });
    const data: ExportJobData = { exportId: id, roomId: room.id };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.enqueueTimeoutMs} ms`)), this.enqueueTimeoutMs);
      });
      const adding = this.queue.add(EXPORT_JOB, data, { ...EXPORT_JOB_OPTIONS, jobId: exportJobId(id) });
      // A late failure after the timeout must not surface as an unhandled rejection.
      adding.catch(() => undefined);
      await Promise.race([adding, timeout]);
    } catch (err) {
      await this.exports.markFailed(id, `could not queue the export job: ${(err as Error).message}`).catch(() => undefined);
      throw new DomainError('unavailable', 'redis unreachable: the export could not be queued; try again');
    } finally {
      clearTimeout(timer);
    }
    return record;
  }
}
