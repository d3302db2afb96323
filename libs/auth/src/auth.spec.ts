import { expectDomainError } from '../../domain/src/testing/expect-domain-error';
import jwt from 'jsonwebtoken';
import { DomainError } from '../../domain/src';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password';
import { TokenBucketLimiter } from './rate-limiter';
import { TokenService, type Principal } from './tokens';

const SECRET = 'unit-test-secret-0123456789abcdef';
const USER: Principal = { id: '11111111-1111-4111-8111-111111111111', username: 'alice', role: 'user' };
const ADMIN: Principal = { id: '22222222-2222-4222-8222-222222222222', username: 'root', role: 'admin' };

const unauthorized = (fn: () => unknown) => expectDomainError('unauthorized', fn);

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe(hashPassword.name, () => {
  it('produces a self-describing scrypt hash with a random salt', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')]);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('correct horse');
    expect(a).not.toBe(b);
  });
});

describe(verifyPassword.name, () => {
  let stored: string;
  beforeAll(async () => {
    stored = await hashPassword('correct horse battery');
  });

  it('accepts the right password', async () => {
    await expect(verifyPassword('correct horse battery', stored)).resolves.toBe(true);
  });

  it('rejects a wrong password', async () => {
    await expect(verifyPassword('correct horse batterY', stored)).resolves.toBe(false);
    await expect(verifyPassword('', stored)).resolves.toBe(false);
  });

  it('rejects a hash whose key was tampered with', async () => {
    const parts = stored.split('$');
    parts[5] = Buffer.alloc(32, 7).toString('base64url');
    await expect(verifyPassword('correct horse battery', parts.join('$'))).resolves.toBe(false);
  });

  it.each([
    ['empty', ''],
    ['another scheme', 'bcrypt$2b$10$abcdefghijklmnopqrstuv'],
    ['missing key', 'scrypt$32768$8$1$c2FsdHNhbHRzYWx0c2FsdA'],
    ['plain text', 'correct horse battery'],
  ])('returns false for a malformed stored hash (%s)', async (_label, hash) => {
    await expect(verifyPassword('correct horse battery', hash)).resolves.toBe(false);
  });

  // The JSDoc promises "false for any malformed hash": bad cost parameters are malformed too.
  it.each([
    ['non-numeric N', 'scrypt$abc$8$1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U'],
    ['N not a power of two', 'scrypt$1000$8$1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U'],
    ['empty cost fields', 'scrypt$$$$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U'],
  ])('returns false (does not throw) for malformed cost parameters (%s)', async (_label, hash) => {
    await expect(verifyPassword('correct horse battery', hash)).resolves.toBe(false);
  });

  it('DUMMY_HASH never verifies', async () => {
    for (const password of ['', 'password', 'AAAAAAAA', 'correct horse battery']) {
      await expect(verifyPassword(password, DUMMY_HASH)).resolves.toBe(false);
    }
  });
});

describe(TokenService.name, () => {
  const tokens = new TokenService(SECRET, 3600, 60);

  it('round-trips an access token', () => {
    expect(tokens.verifyAccess(tokens.issueAccess(USER))).toEqual(USER);
    expect(tokens.verifyAccess(tokens.issueAccess(ADMIN))).toEqual(ADMIN);
  });

  it('signs access tokens with HS256 and an expiry', () => {
    const decoded = jwt.decode(tokens.issueAccess(USER), { complete: true })!;
    expect(decoded.header.alg).toBe('HS256');
    const payload = decoded.payload as { exp: number; iat: number };
    expect(payload.exp - payload.iat).toBe(3600);
  });

  it('round-trips a ticket bound to user, room and gateway', () => {
    const { ticket, expiresAt } = tokens.issueTicket(USER, 'room-1', 'gw-1');
    const verified = tokens.verifyTicket(ticket, 'gw-1');
    expect(verified).toEqual({ ...USER, roomId: 'room-1', gatewayId: 'gw-1', expiresAt });
    const { exp, iat } = jwt.decode(ticket) as { exp: number; iat: number };
    expect(expiresAt.getTime()).toBe(exp * 1000);
    expect(exp - iat).toBe(60);
  });

  it('a ticket is not an access token', () => {
    const { ticket } = tokens.issueTicket(USER, 'room-1', 'gw-1');
    unauthorized(() => tokens.verifyAccess(ticket));
  });

  it('an access token is not a ticket', () => {
    unauthorized(() => tokens.verifyTicket(tokens.issueAccess(USER), 'gw-1'));
  });

  it('rejects a ticket issued for another gateway', () => {
    const { ticket } = tokens.issueTicket(USER, 'room-1', 'gw-1');
    expect(unauthorized(() => tokens.verifyTicket(ticket, 'gw-2')).message).toMatch(/another gateway/);
  });

  it('rejects an expired ticket and an expired access token', () => {
    const exp = Math.floor(Date.now() / 1000) - 30;
    const ticket = jwt.sign({ typ: 'ticket', sub: USER.id, usr: USER.username, role: 'user', room: 'room-1', gw: 'gw-1', exp }, SECRET, {
      algorithm: 'HS256',
    });
    expect(unauthorized(() => tokens.verifyTicket(ticket, 'gw-1')).message).toMatch(/expired/);
    const access = jwt.sign({ typ: 'access', sub: USER.id, usr: USER.username, role: 'user', exp }, SECRET, { algorithm: 'HS256' });
    unauthorized(() => tokens.verifyAccess(access));
  });

  it('rejects tokens signed with another secret', () => {
    const forger = new TokenService('some-other-secret-0123456789abcdef', 3600, 60);
    unauthorized(() => tokens.verifyAccess(forger.issueAccess(ADMIN)));
    unauthorized(() => tokens.verifyTicket(forger.issueTicket(ADMIN, 'room-1', 'gw-1').ticket, 'gw-1'));
  });

  it("rejects an unsigned token (alg: none)", () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { typ: 'access', sub: ADMIN.id, usr: ADMIN.username, role: 'admin', iat: now, exp: now + 3600 };
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    unauthorized(() => tokens.verifyAccess(unsigned));
    const ticketClaims = { ...claims, typ: 'ticket', room: 'room-1', gw: 'gw-1' };
    unauthorized(() => tokens.verifyTicket(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(ticketClaims)}.`, 'gw-1'));
  });

  it('rejects a token whose payload was altered after signing', () => {
    const [header, , signature] = tokens.issueAccess(USER).split('.');
    const now = Math.floor(Date.now() / 1000);
    const escalated = b64url({ typ: 'access', sub: USER.id, usr: USER.username, role: 'admin', iat: now, exp: now + 3600 });
    unauthorized(() => tokens.verifyAccess(`${header}.${escalated}.${signature}`));
  });

  it('rejects a correctly signed token with an unknown role or missing claims', () => {
    const badRole = jwt.sign({ typ: 'access', sub: USER.id, usr: USER.username, role: 'owner' }, SECRET, { algorithm: 'HS256' });
    unauthorized(() => tokens.verifyAccess(badRole));
    const noSub = jwt.sign({ typ: 'access', usr: USER.username, role: 'user' }, SECRET, { algorithm: 'HS256' });
    unauthorized(() => tokens.verifyAccess(noSub));
    const noRoom = jwt.sign({ typ: 'ticket', sub: USER.id, usr: USER.username, role: 'user', gw: 'gw-1' }, SECRET, { algorithm: 'HS256' });
    unauthorized(() => tokens.verifyTicket(noRoom, 'gw-1'));
  });

  it('rejects another HMAC algorithm than HS256', () => {
    const hs512 = jwt.sign({ typ: 'access', sub: USER.id, usr: USER.username, role: 'user' }, SECRET, { algorithm: 'HS512' });
    unauthorized(() => tokens.verifyAccess(hs512));
  });

  it.each(['', 'garbage', 'a.b.c', 'Bearer x.y.z'])('rejects malformed token %p', (token) => {
    unauthorized(() => tokens.verifyAccess(token));
    unauthorized(() => tokens.verifyTicket(token, 'gw-1'));
  });
});

describe(TokenBucketLimiter.name, () => {
  function clock(start = 1_000_000) {
    const c = { now: start, fn: () => c.now };
    return c;
  }

  it('allows a burst, then refuses', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter(1, 3, c.fn);
    expect([limiter.tryTake('u'), limiter.tryTake('u'), limiter.tryTake('u')]).toEqual([true, true, true]);
    expect(limiter.tryTake('u')).toBe(false);
    expect(limiter.tryTake('u')).toBe(false);
  });

  it('refills at the configured rate', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter(2, 2, c.fn);
    limiter.tryTake('u');
    limiter.tryTake('u');
    expect(limiter.tryTake('u')).toBe(false);
    c.now += 499; // 0.998 tokens
    expect(limiter.tryTake('u')).toBe(false);
    c.now += 2; // ≥ 1 token
    expect(limiter.tryTake('u')).toBe(true);
    expect(limiter.tryTake('u')).toBe(false);
  });

  it('never refills beyond the burst', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter(10, 3, c.fn);
    for (let i = 0; i < 3; i++) limiter.tryTake('u');
    c.now += 60_000;
    const results = Array.from({ length: 5 }, () => limiter.tryTake('u'));
    expect(results).toEqual([true, true, true, false, false]);
  });

  it('keeps a bucket per key', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter(1, 1, c.fn);
    expect(limiter.tryTake('alice')).toBe(true);
    expect(limiter.tryTake('alice')).toBe(false);
    expect(limiter.tryTake('bob')).toBe(true);
  });

  it('rate 0 disables the limit', () => {
    const c = clock();
    const limiter = new TokenBucketLimiter(0, 1, c.fn);
    for (let i = 0; i < 1000; i++) expect(limiter.tryTake('u')).toBe(true);
  });
});
