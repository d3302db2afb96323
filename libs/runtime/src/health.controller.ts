import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { Database } from '../../persistence/src';
import { REDIS } from './tokens';

/** Injection token of a process's own reason to take no traffic (a gateway that drains). */
export const READINESS_GATE = Symbol('READINESS_GATE');

/** Why the process should get no new traffic right now (e.g. `draining`), or null when it may. */
export type ReadinessGate = () => string | null;

/**
 * How long each dependency check of `/health/ready` may take, ms. A probe that hangs is worse
 * than one that fails: Kubernetes would count it as a timeout only after its own timeoutSeconds,
 * and a load balancer may hold the connection open.
 */
export const READINESS_CHECK_DEADLINE_MS = 1_000;

/** What `/health/ready` found: a process gate that is closed, and dependencies that did not answer. */
export interface ReadinessFindings {
  gate: string | null;
  postgres: boolean;
  redis: boolean;
}

/** The reason the process is not ready, or null when it is. A closed gate comes first. */
export function notReadyReason(findings: ReadinessFindings): string | null {
  if (findings.gate) return findings.gate;
  const failing = [!findings.postgres && 'postgres', !findings.redis && 'redis'].filter(Boolean);
  return failing.length > 0 ? `${failing.join(', ')} unreachable` : null;
}

/** Liveness and readiness, naming the failing dependency (or the process's own gate). */
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    @Inject(REDIS) private readonly redis: Redis,
    @Optional() @Inject(READINESS_GATE) private readonly gate?: ReadinessGate,
  ) {}

  /** The process runs and its event loop answers: nothing else, so a dependency outage never restarts it. */
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response): Promise<object> {
    const gate = this.gate?.() ?? null;
    // A closed gate (draining) needs no dependency check: the answer is no either way.
    const [postgres, redis] = gate
      ? [true, true]
      : await Promise.all([
          answersWithin(this.db.ping(), READINESS_CHECK_DEADLINE_MS),
          answersWithin(this.redis.ping().then(() => true), READINESS_CHECK_DEADLINE_MS),
        ]);
    const reason = notReadyReason({ gate, postgres, redis });
    if (reason) {
      res.status(503);
      return { error: { code: 'unavailable', message: `not ready: ${reason}` } };
    }
    return { status: 'ok' };
  }
}

/** True when `check` resolves true within `ms`; false when it resolves false, rejects or is late. */
async function answersWithin(check: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([check.catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}
