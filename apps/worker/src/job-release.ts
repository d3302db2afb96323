import { WaitingError, type Job } from 'bullmq';

/**
 * Hands an active job back to the queue without spending an attempt (worker shutdown): it is
 * moved to waiting, and the WaitingError this returns, when thrown from the processor, tells
 * BullMQ the move was done on purpose. Another worker (or this one, restarted) picks it up.
 */
export async function releaseJob(job: Job, token: string | undefined): Promise<WaitingError> {
  await job.moveToWait(token);
  return new WaitingError(`job ${job.id} released: worker shutting down`);
}
