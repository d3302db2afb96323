import type { JobsOptions } from 'bullmq';

/**
 * The worker's queues, their job payloads and their deterministic job ids (DESIGN.md invariant 6
 * and example 10). Producers (API, CLI, the cold-room sweep) and processors share these.
 *
 * Job ids use `-` where DESIGN.md writes `:`: BullMQ rejects custom ids containing `:` (it
 * reserves them for its own repeatable-job ids), and ids are only compared, never parsed.
 */
export const EXPORT_QUEUE = 'exports';
export const SNAPSHOT_QUEUE = 'snapshots';

export const EXPORT_JOB = 'export';
export const SNAPSHOT_JOB = 'snapshot';
/** The repeatable job that looks for cold rooms with a long tail (queue `snapshots`). */
export const COLD_ROOM_SWEEP_JOB = 'cold-room-sweep';
/** Job scheduler id of the sweep: one schedule per queue, whichever worker upserts it. */
export const COLD_ROOM_SWEEP_SCHEDULER = 'cold-room-sweep';

/** Payload of an export job: everything else is in the `exports` row. */
export interface ExportJobData {
  exportId: string;
  roomId: string;
}

/** Payload of a snapshot job: the state of `roomId` at exactly `seq`. */
export interface SnapshotJobData {
  roomId: string;
  seq: number;
}

/** Progress an export job reports (job.updateProgress), also mirrored in its `exports` row. */
export interface ExportJobProgress {
  events: number;
  headSeq: number;
  bytes: number;
}

/** One export, one job: adding it twice is a no-op while BullMQ keeps the job. */
export function exportJobId(exportId: string): string {
  return `export-${exportId}`;
}

/** One snapshot per room and seq: the state at a seq is fully determined by the log. */
export function snapshotJobId(roomId: string, seq: number): string {
  return `snapshot-${roomId}-${seq}`;
}

/** Events per page read from Postgres by the export and snapshot jobs. */
export const JOB_PAGE_SIZE = 5_000;

/**
 * Lock timing of the workers, ms. A worker renews its job locks every lockDuration/2; a worker
 * that died (SIGKILL) stops renewing, and another worker's stalled check (every stalledInterval)
 * moves the job back to waiting once the lock expired: at most lockDuration + stalledInterval
 * (about 15 s) after the crash.
 */
export const WORKER_LOCK_DURATION_MS = 10_000;
export const WORKER_STALLED_INTERVAL_MS = 5_000;
/** Crashes of a worker holding the same job before BullMQ fails it. */
export const WORKER_MAX_STALLED_COUNT = 3;

/** Export jobs: five attempts, 2 s, 4 s, 8 s, 16 s apart; finished jobs kept a while for dedup. */
export const EXPORT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * Snapshot jobs: kept an hour after completion, so the sweep re-finding the same room at the same
 * head within that hour adds nothing.
 */
export const SNAPSHOT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

export const SWEEP_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: { count: 10 },
  removeOnFail: { count: 50 },
};
