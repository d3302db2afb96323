/**
 * TRUST_PROXY (CONTRACT.md, configuration): behind N proxy hops the client address of the auth
 * rate limit (AUTH_RATE_LIMIT_PER_MIN, per address and per username) is the one X-Forwarded-For
 * gives, so users behind one load balancer are limited separately; unset, the header is ignored
 * and cannot be used to escape the limit. Every login here uses a fresh (unknown) username, so
 * only the per-address bucket can answer 429.
 */
import { randomBytes } from 'node:crypto';
import { ManagedProcess } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(90_000);

/** The auth limit of these stacks: a bucket of 3 attempts, refilled by one every 20 s. */
const LIMIT = 3;

/** POST /auth/login as a client whose request carries `forwardedFor` (when given); the status. */
async function login(apiUrl: string, forwardedFor?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (forwardedFor !== undefined) headers['x-forwarded-for'] = forwardedFor;
  const username = `nobody_${randomBytes(6).toString('hex')}`;
  const res = await fetch(`${apiUrl}/auth/login`, { method: 'POST', headers, body: JSON.stringify({ username, password: 'wrong-password' }) });
  await res.text();
  return res.status;
}

describe('TRUST_PROXY=1 (one load balancer in front of the API)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'proxy1', gateways: 0, env: { TRUST_PROXY: '1', AUTH_RATE_LIMIT_PER_MIN: String(LIMIT) } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('limits logins per X-Forwarded-For address: one address exhausted, another still served', async () => {
    const first: number[] = [];
    for (let i = 0; i <= LIMIT; i++) first.push(await login(stack.apiUrl, '203.0.113.10'));
    expect(first).toEqual([...Array<number>(LIMIT).fill(401), 429]);

    // Another user behind the same proxy (same socket peer, 127.0.0.1) has a bucket of their own.
    expect(await login(stack.apiUrl, '203.0.113.20')).toBe(401);
    // The client address is the last hop the proxy appended, not what the client claimed.
    expect(await login(stack.apiUrl, '198.51.100.1, 203.0.113.30')).toBe(401);
    expect(await login(stack.apiUrl, '198.51.100.1, 203.0.113.10')).toBe(429);
  });
});

describe('TRUST_PROXY unset (no proxy trusted)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'proxy0', gateways: 0, env: { AUTH_RATE_LIMIT_PER_MIN: String(LIMIT) } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('ignores X-Forwarded-For: a client cannot escape the limit by varying it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT + 2; i++) statuses.push(await login(stack.apiUrl, `203.0.113.${100 + i}`));
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), 429, 429, 429]);
    expect(await login(stack.apiUrl)).toBe(429);
  });
});

describe('TRUST_PROXY malformed', () => {
  it('stops the API at start-up with one line naming TRUST_PROXY', async () => {
    const api = ManagedProcess.start('api', 'dist/apps/api/src/main.js', {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      PORT: '0',
      TRUST_PROXY: '10.0.0.0/8,load-balancer',
    });
    const timer = setTimeout(() => api.signal('SIGKILL'), 30_000);
    const exit = await api.exited;
    clearTimeout(timer);
    expect(exit.code).toBe(1);
    expect(api.logs()).toContain('invalid configuration: TRUST_PROXY: ');
    expect(api.logs()).toContain('"load-balancer" is not one');
  });
});
