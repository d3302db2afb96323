import type { AckErrorCode } from '../../../../libs/domain/src';

/**
 * Where a socket command failed: `edge` while its payload was parsed and rate-limited (what a
 * client controls), `room` once the room's actor had it (the log, the fence, the room's rules).
 */
export type AckStage = 'edge' | 'room';

export type AckFailureLevel = 'error' | 'warn' | 'debug';

/**
 * How loudly a failed command is logged. What a client can cause at will (a malformed payload,
 * its rate limit, a rule of the room, a stale socket of a moved room) is `debug`, so one hostile
 * client cannot flood the logs. A command the room accepted but could not commit (the database
 * down or refusing its data, the epoch fence) is `warn`: an operator's business, one line each.
 * An error that is no DomainError is a bug: `error`.
 */
export function ackFailureLevel(stage: AckStage, code: AckErrorCode, internal: boolean): AckFailureLevel {
  if (internal) return 'error';
  if (stage === 'room' && (code === 'unavailable' || code === 'invalid')) return 'warn';
  return 'debug';
}
