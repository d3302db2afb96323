/**
 * Rate limits at the edge (DESIGN.md invariant 7): sends per user per second on the gateway
 * (RATE_LIMIT_MSG_PER_SEC, bursts of twice that) and register/login attempts per address and
 * username on the API (AUTH_RATE_LIMIT_PER_MIN). Refused requests are never written.
 */
import { Pool } from 'pg';
import { ApiClient, RoomMember } from './support/client';
import { baseEnv } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(90_000);

describe('rate limits (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'limits', gateways: 1, env: { RATE_LIMIT_MSG_PER_SEC: '5', AUTH_RATE_LIMIT_PER_MIN: '6' } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 1 });
  });

  afterAll(async () => {
    await pool?.end();
    await stack?.stop();
  });

  it('answers sends beyond the burst with rate_limited and writes only the accepted ones', async () => {
    const user = await api.register('limited');
    const room = await api.createRoom(user.token, 'limits');
    const member = await RoomMember.enter(api, user, room.id);
    try {
      const acks = await Promise.all(Array.from({ length: 30 }, (_, i) => member.send(`burst-${i}`, `burst ${i}`)));
      const ok = acks.filter((a) => a.ok);
      const limited = acks.filter((a) => !a.ok && a.error.code === 'rate_limited');
      // Burst capacity is 2 x 5 = 10 (a token or two may refill while the burst arrives).
      expect(ok.length).toBeGreaterThanOrEqual(10);
      expect(ok.length).toBeLessThan(15);
      expect(ok.length + limited.length).toBe(30);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM room_events WHERE room_id = $1', [room.id]);
      expect(rows[0].n).toBe(1 + ok.length);
      // The bucket refills: after a second, sends are accepted again.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const later = await member.send('after-pause', 'calm again');
      expect(later.ok).toBe(true);
    } finally {
      member.close();
    }
  });

  it('limits login attempts per username and answers 429 rate_limited', async () => {
    const user = await api.register('bruteforced');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await api.request('POST', '/auth/login', { body: { username: user.user.username, password: `wrong-password-${i}` } });
      statuses.push(res.status);
      if (res.status === 429) expect(res.body.error.code).toBe('rate_limited');
    }
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(4);
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
  });
});
