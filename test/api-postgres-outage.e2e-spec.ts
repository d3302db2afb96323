/**
 * DESIGN.md invariant 12 on the API: with its Postgres refusing or silent (packets dropped), the
 * requests Prisma serves (login, register, room lookup and creation) and those of the plain pool
 * answer 503 `unavailable` naming the database, within the deadlines rather than after the OS's
 * TCP timeout, none queued for good behind stuck connections, and work again once Postgres is
 * back. The real API process reaches Postgres through a TcpProxy the test controls: `cut()` (refused
 * and reset connections) and `silence()` (packets dropped). Nothing else is cut.
 * Elapsed times are bounded only by a generous no-hang limit, never asserted.
 */
import { ApiClient, type TestUser } from './support/client';
import { baseEnv, waitFor } from './support/processes';
import { TestStack } from './support/stack';
import { TcpProxy, throughProxy } from './support/tcp-proxy';

jest.setTimeout(120_000);

/** Far above the API's 3 s connect and 10 s query deadlines, far below a hang. */
const NO_HANG_MS = 25_000;

interface Answer {
  status: number;
  body: any;
}

describe('API with Postgres down (e2e)', () => {
  let proxy: TcpProxy;
  let stack: TestStack;
  let api: ApiClient;
  let user: TestUser;
  const password = 'correct-horse-battery';
  let roomId: string;

  beforeAll(async () => {
    const target = new URL(baseEnv().DATABASE_URL!);
    proxy = await TcpProxy.start({ host: target.hostname || '127.0.0.1', port: Number(target.port || 5432) });
    stack = await TestStack.start({
      name: 'api-pg',
      gateways: 0,
      env: { DATABASE_URL: throughProxy(baseEnv().DATABASE_URL!, proxy), AUTH_RATE_LIMIT_PER_MIN: '0' },
    });
    api = new ApiClient(stack.apiUrl);
    user = await api.register('apipg');
    roomId = (await api.createRoom(user.token, 'postgres outage room')).id;
  });

  afterEach(() => {
    proxy?.restore();
  });

  afterAll(async () => {
    await stack?.stop();
    await proxy?.close();
  });

  /** One request; a failure naming it when the API does not answer within NO_HANG_MS. */
  async function call(method: string, path: string, options: { body?: unknown; token?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${stack.apiUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(NO_HANG_MS),
      });
    } catch (err) {
      throw new Error(`${method} ${path}: no answer within ${NO_HANG_MS} ms (${(err as Error).name})\n${stack.logs()}`);
    }
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  const login = () => call('POST', '/auth/login', { body: { username: user.user.username, password } });
  const getRoom = () => call('GET', `/rooms/${roomId}`, { token: user.token });
  const register = (name: string) => call('POST', '/auth/register', { body: { username: name, password } });
  const createRoom = (name: string) => call('POST', '/rooms', { body: { name }, token: user.token });

  const unavailable = { status: 503, body: { error: { code: 'unavailable', message: expect.stringMatching(/database/) } } };

  /** Login and the room lookup answer as before the outage (a pooled connection may fail once more). */
  async function worksAgain(): Promise<void> {
    await waitFor('POST /auth/login to answer 200 again', async () => (await login()).status === 200);
    expect(await login()).toMatchObject({ status: 200, body: { user: { id: user.user.id } } });
    await waitFor('GET /rooms/:id to answer 200 again', async () => (await getRoom()).status === 200);
    expect(await getRoom()).toMatchObject({ status: 200, body: { room: { id: roomId } } });
    expect(await createRoom('after the outage')).toMatchObject({ status: 201 });
  }

  it('answers as usual before the outage', async () => {
    expect(await login()).toMatchObject({ status: 200 });
    expect(await getRoom()).toMatchObject({ status: 200, body: { room: { id: roomId } } });
  });

  it('Postgres refusing and resetting connections: 503 unavailable, not 500; works again after the restore', async () => {
    proxy.cut();
    expect(await login()).toEqual(unavailable);
    expect(await getRoom()).toEqual(unavailable);
    expect(await register('apipg_refused')).toEqual(unavailable);
    expect(await createRoom('while refused')).toEqual(unavailable);
    expect(stack.api.running).toBe(true);

    proxy.restore();
    await worksAgain();
  });

  it('Postgres silent (packets dropped): 503 unavailable instead of a hang, concurrent requests included; works again after the restore', async () => {
    // Warm connections first, so some of the silence's victims are statements on open connections.
    expect(await login()).toMatchObject({ status: 200 });
    expect(await getRoom()).toMatchObject({ status: 200 });

    proxy.silence();
    // More Prisma requests than its pool has connections (5): none may wait behind a stuck one.
    const answers = await Promise.all([
      ...Array.from({ length: 7 }, () => login()),
      getRoom(),
      getRoom(),
      register('apipg_silent'),
      createRoom('while silent'),
    ]);
    expect(answers).toEqual(answers.map(() => unavailable));
    expect(stack.api.running).toBe(true);

    proxy.restore();
    await worksAgain();
  });
});
