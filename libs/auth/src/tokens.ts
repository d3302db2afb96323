import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { DomainError } from '../../domain/src';

export type Role = 'user' | 'admin';

/** Who a request or connection acts for, always taken from a verified token. */
export interface Principal {
  id: string;
  username: string;
  role: Role;
}

export interface Ticket extends Principal {
  roomId: string;
  gatewayId: string;
  expiresAt: Date;
}

interface AccessClaims {
  typ: 'access';
  sub: string;
  usr: string;
  role: Role;
}

interface TicketClaims {
  typ: 'ticket';
  sub: string;
  usr: string;
  role: Role;
  room: string;
  gw: string;
}

const ALGORITHM = 'HS256' as const;

/**
 * Signs and verifies the two kinds of JWT: access tokens (HTTP API) and gateway tickets (one
 * user, one room, one gateway, about a minute). `typ` keeps one from being used as the other.
 */
export class TokenService {
  /**
   * The secret as a key object, made once: given a string, jsonwebtoken first tries to parse it
   * as a public key on every sign and verify (a throw and a fallback, ~10% of a gateway's CPU
   * under connection churn, measured with the soak's CPU profile).
   */
  private readonly secret: KeyObject;

  constructor(
    secret: string,
    /** Access token lifetime, seconds. */
    private readonly accessTtlSeconds: number,
    /** Ticket lifetime, seconds. */
    private readonly ticketTtlSeconds: number,
  ) {
    this.secret = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  issueAccess(user: Principal): string {
    const claims: AccessClaims = { typ: 'access', sub: user.id, usr: user.username, role: user.role };
    return jwt.sign(claims, this.secret, { algorithm: ALGORITHM, expiresIn: this.accessTtlSeconds });
  }

  verifyAccess(token: string): Principal {
    const claims = this.verify(token) as Partial<AccessClaims>;
    if (claims.typ !== 'access' || typeof claims.sub !== 'string' || typeof claims.usr !== 'string' || !isRole(claims.role)) {
      throw new DomainError('unauthorized', 'not an access token');
    }
    return { id: claims.sub, username: claims.usr, role: claims.role };
  }

  issueTicket(user: Principal, roomId: string, gatewayId: string): { ticket: string; expiresAt: Date } {
    const claims: TicketClaims = { typ: 'ticket', sub: user.id, usr: user.username, role: user.role, room: roomId, gw: gatewayId };
    const ticket = jwt.sign(claims, this.secret, { algorithm: ALGORITHM, expiresIn: this.ticketTtlSeconds });
    const { exp } = jwt.decode(ticket) as { exp: number };
    return { ticket, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies a ticket for this gateway; a ticket for another gateway is `unauthorized`. */
  verifyTicket(ticket: string, gatewayId: string): Ticket {
    const claims = this.verify(ticket) as Partial<TicketClaims> & { exp?: number };
    if (
      claims.typ !== 'ticket' ||
      typeof claims.sub !== 'string' ||
      typeof claims.usr !== 'string' ||
      typeof claims.room !== 'string' ||
      !isRole(claims.role)
    ) {
      throw new DomainError('unauthorized', 'not a gateway ticket');
    }
    if (claims.gw !== gatewayId) throw new DomainError('unauthorized', 'ticket issued for another gateway');
    return {
      id: claims.sub,
      username: claims.usr,
      role: claims.role,
      roomId: claims.room,
      gatewayId: claims.gw,
      expiresAt: new Date((claims.exp ?? 0) * 1000),
    };
  }

  private verify(token: string): object {
    try {
      const claims = jwt.verify(token, this.secret, { algorithms: [ALGORITHM] });
      if (typeof claims !== 'object' || claims === null) throw new Error('bad claims');
      return claims;
    } catch (err) {
      const reason = err instanceof jwt.TokenExpiredError ? 'token expired' : 'invalid token';
      throw new DomainError('unauthorized', reason);
    }
  }
}

function isRole(value: unknown): value is Role {
  return value === 'user' || value === 'admin';
}
