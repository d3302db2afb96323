import { Inject, Injectable } from '@nestjs/common';
import { DUMMY_HASH, hashPassword, TokenBucketLimiter, TokenService, verifyPassword, type Principal } from '../../../../libs/auth/src';
import type { AppConfig } from '../../../../libs/config/src';
import { DomainError } from '../../../../libs/domain/src';
import { UserRepository } from '../../../../libs/persistence/src';
import { CONFIG } from '../tokens';

export interface AuthResult {
  token: string;
  user: Principal;
}

/** Registration and login. Attempts are limited per client address and per username. */
@Injectable()
export class AuthService {
  private readonly limiter: TokenBucketLimiter;

  constructor(
    @Inject(CONFIG) config: AppConfig,
    private readonly users: UserRepository,
    private readonly tokens: TokenService,
  ) {
    const perMinute = config.authRateLimitPerMin;
    this.limiter = new TokenBucketLimiter(perMinute / 60, perMinute);
  }

  async register(username: string, password: string, clientAddress: string): Promise<AuthResult> {
    this.limit(username, clientAddress);
    const record = await this.users.create(username, await hashPassword(password));
    const user: Principal = { id: record.id, username: record.username, role: record.role };
    return { token: this.tokens.issueAccess(user), user };
  }

  async login(username: string, password: string, clientAddress: string): Promise<AuthResult> {
    this.limit(username, clientAddress);
    const record = await this.users.findByUsername(username);
    // Verify against a dummy hash for unknown users so the response time does not tell.
    const valid = await verifyPassword(password, record?.passwordHash ?? DUMMY_HASH);
    if (!record || !valid) throw new DomainError('unauthorized', 'wrong username or password');
    const user: Principal = { id: record.id, username: record.username, role: record.role };
    return { token: this.tokens.issueAccess(user), user };
  }

  private limit(username: string, clientAddress: string): void {
    const byAddress = this.limiter.tryTake(`addr:${clientAddress}`);
    const byName = this.limiter.tryTake(`user:${username}`);
    if (!byAddress || !byName) throw new DomainError('rate_limited', 'too many attempts; try again in a minute');
  }
}
