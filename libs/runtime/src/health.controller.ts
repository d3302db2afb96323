import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { Database } from '../../persistence/src';
import { REDIS } from './tokens';

/** Liveness and readiness, naming the failing dependency. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly db: Database,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) res: Response): Promise<object> {
    const [postgres, redis] = await Promise.all([
      this.db.ping(),
      this.redis.ping().then(
        () => true,
        () => false,
      ),
    ]);
    const failing = [!postgres && 'postgres', !redis && 'redis'].filter(Boolean);
    if (failing.length > 0) {
      res.status(503);
      return { error: { code: 'unavailable', message: `not ready: ${failing.join(', ')} unreachable` } };
    }
    return { status: 'ok' };
  }
}
