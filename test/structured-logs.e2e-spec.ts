/**
 * Issue 8, acceptance 5: with LOG_FORMAT=json (production's default) every line a process
 * writes is one JSON object, and the line a failed send writes carries the ids an operator needs:
 * level, time, message, gateway, room, user, clientMsgId and the error code, never the message
 * text. Real API and gateway processes; one send is refused by the epoch fence (another owner
 * took the room in Postgres), one fails because the gateway's Postgres connection is cut. The
 * API echoes request ids and logs them. The gateway's /metrics shows the same failures.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { ApiClient, RoomMember } from './support/client';
import { baseEnv, freePort, ManagedProcess, waitFor } from './support/processes';
import { TestStack } from './support/stack';
import { throughProxy } from './support/tcp-proxy';

jest.setTimeout(120_000);

type LogLine = Record<string, unknown>;

/** Every line of `text` parsed as JSON; throws naming the first line that is not one object. */
function parseLines(text: string, what: string): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`${what}: a line that is not JSON: ${line.slice(0, 300)}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${what}: not an object: ${line}`);
      return parsed as LogLine;
    });
}

/** A gateway started by the test itself, so that its stdout and stderr are kept apart from the first byte. */
class LoggedGateway {
  stdout = '';
  stderr = '';
  private constructor(
    readonly id: string,
    readonly url: string,
    readonly proc: ManagedProcess,
  ) {
    proc.child.stdout!.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    proc.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  static async start(stack: TestStack, id: string): Promise<LoggedGateway> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = stack.env({ PORT: String(port), GATEWAY_ID: id, GATEWAY_PUBLIC_URL: url, DATABASE_URL: throughProxy(baseEnv().DATABASE_URL!, stack.pgProxy!) });
    const gateway = new LoggedGateway(id, url, ManagedProcess.start(id, 'dist/apps/gateway/src/main.js', env));
    await waitFor(`${id} to answer`, async () => {
      if (!gateway.proc.running) throw new Error(`${id} exited:\n${gateway.proc.logs()}`);
      return (await fetch(`${url}/health/live`)).ok;
    });
    return gateway;
  }

  lines(): LogLine[] {
    return parseLines(this.stdout, `${this.id} stdout`);
  }
}

/** The value of a sample of the gateway's /metrics whose labels include `labels`. */
async function metric(gw: LoggedGateway, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  for (const match of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    if (Object.entries(labels).every(([k, v]) => match[1]!.includes(`${k}="${v}"`))) return Number(match[2]);
  }
  return undefined;
}

describe('structured logs (e2e, LOG_FORMAT=json)', () => {
  let stack: TestStack;
  let gateway: LoggedGateway;
  let pool: Pool;
  const api = () => new ApiClient(stack.apiUrl);

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'logs', gateways: 0, pgProxy: true, env: { LOG_FORMAT: 'json' } });
    gateway = await LoggedGateway.start(stack, 'logs-gw-1');
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    await gateway?.proc.stop();
    await stack?.stop();
    await pool?.end();
  });

  it('writes one line for a send the epoch fence refused, with the ids and the code and without the text', async () => {
    const user = await api().register('logs');
    const room = await api().createRoom(user.token, 'fenced');
    const member = await RoomMember.enter(api(), user, room.id);
    try {
      expect(await member.send('before-fence', 'an ordinary message')).toMatchObject({ ok: true });
      // Another owner took the room: its epoch moved in Postgres, so the next append is refused.
      await pool.query('UPDATE rooms SET epoch = epoch + 1 WHERE id = $1', [room.id]);
      const secret = `do-not-log-${randomBytes(6).toString('hex')}`;
      const ack = await member.send('fenced-send-1', secret);
      expect(ack).toMatchObject({ ok: false, error: { code: 'unavailable' } });

      const line = await waitFor('the failed-send line', async () =>
        gateway.lines().find((l) => l.msg === 'send failed: unavailable' && l.clientMsgId === 'fenced-send-1'),
      );
      expect(line).toEqual(
        expect.objectContaining({
          level: 'warn',
          gatewayId: 'logs-gw-1',
          app: 'gateway',
          roomId: room.id,
          userId: user.user.id,
          clientMsgId: 'fenced-send-1',
          command: 'send',
          stage: 'room',
          code: 'unavailable',
          reason: expect.stringMatching(/changing owner/),
          context: 'RoomGateway',
        }),
      );
      expect(new Date(line.time as string).toISOString()).toBe(line.time);
      expect(gateway.stdout).not.toContain(secret);
      expect(gateway.stderr).not.toContain(secret);
      expect(await metric(gateway, 'gateway_commit_outcomes_total', { outcome: 'refused' })).toBe(1);
    } finally {
      member.close();
    }
  });

  it('writes one line for a send that failed because Postgres was unreachable', async () => {
    const user = await api().register('logs');
    const room = await api().createRoom(user.token, 'cut');
    const member = await RoomMember.enter(api(), user, room.id);
    try {
      stack.pgProxy!.cut();
      const secret = `do-not-log-${randomBytes(6).toString('hex')}`;
      expect(await member.send('cut-send-1', secret)).toMatchObject({ ok: false, error: { code: 'unavailable' } });
      const line = await waitFor('the failed-send line', async () => gateway.lines().find((l) => l.clientMsgId === 'cut-send-1'));
      expect(line).toEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'send failed: unavailable',
          gatewayId: 'logs-gw-1',
          roomId: room.id,
          userId: user.user.id,
          code: 'unavailable',
          reason: expect.stringMatching(/event log is unavailable/),
        }),
      );
      expect(gateway.stdout).not.toContain(secret);
      expect(await metric(gateway, 'gateway_commit_outcomes_total', { outcome: 'error' })).toBeGreaterThanOrEqual(1);
    } finally {
      stack.pgProxy!.restore();
      member.close();
    }
  });

  it('keeps what a client causes at will (a malformed send) out of an info log, and times every ack', async () => {
    const user = await api().register('logs');
    const room = await api().createRoom(user.token, 'hostile');
    const member = await RoomMember.enter(api(), user, room.id);
    try {
      const ack = await member.socket.timeout(10_000).emitWithAck('message:send', { clientMsgId: 'hostile-1', text: '' } as never);
      expect(ack).toMatchObject({ ok: false, error: { code: 'invalid' } });
      expect(await member.send('after-hostile', 'fine')).toMatchObject({ ok: true });
      await waitFor('the load line of the room', async () => gateway.lines().some((l) => l.roomId === room.id && l.context === 'RoomRegistry'));
      expect(gateway.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('send failed: invalid'))).toEqual([]);
      expect(await metric(gateway, 'gateway_ack_duration_seconds_count', { command: 'send', outcome: 'invalid' })).toBe(1);
      expect(await metric(gateway, 'gateway_ack_duration_seconds_count', { command: 'send', outcome: 'unavailable' })).toBe(2);
      expect(await metric(gateway, 'gateway_room_load_duration_seconds_count', { outcome: 'loaded' })).toBeGreaterThanOrEqual(3);
    } finally {
      member.close();
    }
  });

  it('has printed nothing but JSON objects, stdout and stderr alike, each with level, time, msg and the gateway id', () => {
    const lines = gateway.lines();
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(typeof line.level).toBe('string');
      expect(typeof line.time).toBe('string');
      expect(typeof line.msg).toBe('string');
      expect(line.gatewayId).toBe('logs-gw-1');
    }
    parseLines(gateway.stderr, 'gateway stderr');
    // The room's load line names the room as a field, not only in its text.
    expect(lines.filter((l) => l.context === 'RoomRegistry' && typeof l.roomId === 'string').length).toBeGreaterThanOrEqual(3);
  });

  it('API: echoes a sane X-Request-Id, makes one up otherwise, and logs each request with it and the user', async () => {
    const user = await api().register('logs');
    const res = await fetch(`${stack.apiUrl}/rooms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'x-request-id': 'e2e-trace-42' },
      body: JSON.stringify({ name: 'traced' }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-request-id')).toBe('e2e-trace-42');
    const made = await fetch(`${stack.apiUrl}/health/live`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const line = await waitFor('the request line', async () => parseLines(stack.api.logs(), 'api output').find((l) => l.requestId === 'e2e-trace-42'));
    expect(line).toEqual(
      expect.objectContaining({ level: 'info', app: 'api', method: 'POST', route: '/rooms', status: 201, userId: user.user.id, msg: 'POST /rooms 201' }),
    );
    expect(stack.api.logs()).not.toContain(user.token);
  });
});
