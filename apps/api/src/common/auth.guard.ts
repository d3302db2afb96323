import { type CanActivate, createParamDecorator, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { TokenService, type Principal } from '../../../../libs/auth/src';
import { DomainError } from '../../../../libs/domain/src';
import { addLogFields } from '../../../../libs/runtime/src/logger';

type AuthedRequest = Request & { principal?: Principal };

/** Requires a valid `Authorization: Bearer <access token>`; the principal comes only from it. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
    if (!match) throw new DomainError('unauthorized', 'missing bearer token');
    req.principal = this.tokens.verifyAccess(match[1]!);
    addLogFields({ userId: req.principal.id }); // the request's later log lines name the user
    return true;
  }
}

/** Requires the admin role, after AuthGuard. */
@Injectable()
export class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<AuthedRequest>().principal;
    if (principal?.role !== 'admin') throw new DomainError('forbidden', 'admin role required');
    return true;
  }
}

export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!principal) throw new DomainError('unauthorized', 'missing bearer token');
  return principal;
});
