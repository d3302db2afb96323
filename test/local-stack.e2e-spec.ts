/**
 * Issue 7, acceptance 7: the local stack of `npm start` behaves like production.
 *
 * `bash scripts/start-stack.sh` runs as a real process (setup skipped: scripts/test.sh built and
 * migrated already) on free ports, with its own S3 store and the test databases. The test then
 * holds what a browser holds: an HTTP keep-alive agent with connections to the API, a spare
 * connection on which no request was sent, and a Socket.IO client joined to a room on each
 * gateway.
 *
 * - `kill -9` of the gateway that owns one client's room: the API and the other gateway keep
 *   serving, the supervisor starts the dead one again (a new PID answers on its port), and the
 *   client is served again with its history complete. The time from the kill to the first ack
 *   is printed as a figure (the acceptance bound is GATEWAY_TTL_SECONDS + 2 s), not asserted.
 * - Ctrl-C (SIGINT to the process group of `npm start`, npm included, as a terminal sends it) with all those
 *   connections open: `npm start` exits 0 within 15 s and every process it started is gone.
 *
 * Processes are found through /proc (Linux): the script's descendants, and among them the one
 * listening on a port. Only processes of this test's tree are ever signalled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { ApiClient, type TestUser } from './support/client';
import { compareClientWithLog, compareLogWithAcks, logOf } from './support/fault';
import { reportFigure } from './support/figures';
import { baseEnv, freePort, ROOT, waitFor } from './support/processes';
import { allProcStats } from './support/proc-stat';
import { ResilientClient } from './support/resilient-client';

jest.setTimeout(150_000);

const TTL_SECONDS = 3;
/** The bound of `npm start`'s Ctrl-C (CONTRACT.md): the test's deadline for the exit. */
const EXIT_DEADLINE_MS = 15_000;

// ---- processes through /proc ------------------------------------------------------------------

/** Parent PID of every process on the machine. */
function parentPids(): Map<number, number> {
  return new Map(allProcStats().map((p) => [p.pid, p.ppid]));
}

/** Every live descendant of `root` (children, their children, ...). */
function descendants(root: number): number[] {
  const parents = parentPids();
  const found = new Set<number>([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (found.has(ppid) && !found.has(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  found.delete(root);
  return [...found];
}

/** Socket inodes listening on `port` (any address, IPv4 or IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const localPort = parseInt(fields[1]!.split(':')[1]!, 16);
      if (localPort === port && fields[3] === '0A') inodes.add(fields[9]!); // 0A: LISTEN
    }
  }
  return inodes;
}

/** The process among `candidates` that listens on `port`, if any. */
function listenerPid(port: number, candidates: number[]): number | undefined {
  const inodes = listeningInodes(port);
  for (const pid of candidates) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match && inodes.has(match[1]!)) return pid;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---- the stack as `npm start` runs it ---------------------------------------------------------

interface Ports {
  api: number;
  gw1: number;
  gw2: number;
  s3: number;
  worker: number;
}

class StartedStack {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly ports: Ports,
    readonly dataDir: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
      if (this.output.length > 400_000) this.output = this.output.slice(-200_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(): Promise<StartedStack> {
    const ports: Ports = { api: await freePort(), gw1: await freePort(), gw2: await freePort(), s3: await freePort(), worker: await freePort() };
    const dataDir = mkdtempSync(join(tmpdir(), 'durable-rooms-local-stack-s3-'));
    const env: Record<string, string> = {
      ...baseEnv({ GATEWAY_TTL_SECONDS: String(TTL_SECONDS), RATE_LIMIT_MSG_PER_SEC: '0' }),
      START_SKIP_SETUP: '1',
      API_PORT: String(ports.api),
      GW1_PORT: String(ports.gw1),
      GW2_PORT: String(ports.gw2),
      WORKER_PORT: String(ports.worker),
      S3_PORT: String(ports.s3),
      S3_DATA_DIR: dataDir,
    };
    // The script starts its own store: nothing of the test run's S3 may leak in.
    for (const name of Object.keys(env)) if (name.startsWith('S3_') && name !== 'S3_PORT' && name !== 'S3_DATA_DIR') delete env[name];
    // Its own process group, so that SIGINT to the group is what a terminal's Ctrl-C does.
    // `npm start` itself, as a user types it: npm is in the group the terminal signals too.
    if (process.env.HOME) env.HOME = process.env.HOME;
    const child = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    return new StartedStack(child, ports, dataDir);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  url(port: number): string {
    return `http://127.0.0.1:${port}`;
  }

  /** The node process serving `port`, among the script's descendants. */
  pidOn(port: number): number | undefined {
    return listenerPid(port, descendants(this.pid));
  }

  async waitUntilServing(): Promise<void> {
    for (const port of [this.ports.api, this.ports.gw1, this.ports.gw2]) {
      await waitFor(
        `${this.url(port)}/health/live`,
        async () => {
          if (!this.running) throw new Error(`start-stack.sh exited:\n${this.logs()}`);
          return (await fetch(`${this.url(port)}/health/live`)).ok;
        },
        60_000,
        200,
      );
    }
  }

  logs(): string {
    const noise = /RouterExplorer|RoutesResolver|InstanceLoader|WebSocketsController|NodeVersionSupportWarning|AWS SDK|node >=22|a\.co\/|trace-warnings|^\[\S+\] $/;
    return this.output
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split('\n')
      .filter((line) => !noise.test(line))
      .join('\n')
      .slice(-12_000);
  }

  /** Ends whatever of this test's tree is left (a failed test), by PID. */
  kill(): void {
    for (const pid of descendants(this.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    if (this.running) process.kill(this.pid, 'SIGKILL');
  }
}

/** GET over the keep-alive agent, as a browser re-uses its connections to the API. */
function keepAliveGet(agent: Agent, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('local stack (npm start): supervision and Ctrl-C', () => {
  let stack: StartedStack;
  let api: ApiClient;
  let pool: Pool;
  const clients: ResilientClient[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  let spare: Socket | undefined;

  beforeAll(async () => {
    // The end-to-end suites own the test Redis database: start from an empty registry.
    const redis = new Redis(baseEnv().REDIS_URL!);
    await redis.flushdb().finally(() => redis.disconnect());
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
    stack = await StartedStack.start();
    await stack.waitUntilServing();
    api = new ApiClient(stack.url(stack.ports.api));
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    spare?.destroy();
    agent.destroy();
    if (stack?.running) stack.kill();
    if (stack) rmSync(stack.dataDir, { recursive: true, force: true });
    await pool?.end();
  });

  /** A room whose owner is gateway `port`, with a joined client in it (new rooms until one lands there). */
  async function clientOnGateway(user: TestUser, port: number, name: string): Promise<ResilientClient> {
    for (let i = 0; i < 20; i++) {
      const room = await api.createRoom(user.token, `${name} ${i}`);
      const info = await waitFor(`a gateway for ${room.id}`, async () => {
        const res = await api.request('POST', `/rooms/${room.id}/connection`, { token: user.token });
        return res.status === 200 ? (res.body as { url: string }) : undefined;
      });
      if (new URL(info.url).port !== String(port)) continue;
      const client = new ResilientClient(api, user, room.id, { name, ackTimeoutMs: 2_000, recoveryTimeoutMs: 30_000 });
      clients.push(client);
      await client.connect();
      return client;
    }
    throw new Error(`no room was placed on the gateway at :${port}`);
  }

  it('kill -9 of a gateway: the rest keeps serving, it is restarted, its client is served again', async () => {
    const user = await api.register('local');
    const victim = await clientOnGateway(user, stack.ports.gw1, 'on-gw-1');
    const bystander = await clientOnGateway(user, stack.ports.gw2, 'on-gw-2');
    await victim.sendMany('before', 5);
    await bystander.sendMany('before', 3);
    // What a browser holds on the API: keep-alive connections, and a spare one not used yet.
    expect(await Promise.all(['/', '/app.js', '/health/live'].map((path) => keepAliveGet(agent, `${api.baseUrl}${path}`)))).toEqual([200, 200, 200]);
    spare = connect(stack.ports.api, '127.0.0.1');
    spare.on('error', () => undefined);

    const oldPid = stack.pidOn(stack.ports.gw1);
    expect(oldPid).toBeDefined();
    const killedAt = Date.now();
    process.kill(oldPid!, 'SIGKILL');
    const sent = victim.send('after-kill', 'served again after kill -9');

    // The API and the other gateway serve while gw-1 is down.
    expect(await keepAliveGet(agent, `${api.baseUrl}/health/live`)).toBe(200);
    const bystanderAck = await bystander.send('during-outage', 'the other gateway keeps serving');
    expect(bystanderAck.gatewayId).toBe(bystander.gatewayId);

    // The supervisor starts gw-1 again: a new process answers on its port.
    const newPid = await waitFor(
      'a new gw-1 process on its port',
      async () => {
        const pid = stack.pidOn(stack.ports.gw1);
        if (pid === undefined || pid === oldPid) return undefined;
        return (await fetch(`${stack.url(stack.ports.gw1)}/health/live`)).ok ? pid : undefined;
      },
      30_000,
      100,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${stack.logs()}`);
    });
    expect(isAlive(oldPid!)).toBe(false);
    expect(newPid).not.toBe(oldPid);

    const ack = await sent;
    reportFigure('local-stack', 'kill -9 of a gateway to the first ack in its room', ack.at - killedAt, 'ms', {
      boundMs: (TTL_SECONDS + 2) * 1000,
      servedBy: ack.gatewayId,
    });
    await victim.sendMany('after', 3);

    // History complete: the log is exactly what was acknowledged, and the client saw all of it.
    for (const client of [victim, bystander]) {
      const log = await logOf(pool, client.roomId);
      expect(compareLogWithAcks(log, [{ userId: user.user.id, acks: client.acks }])).toEqual([]);
      await client.caughtUp(log.at(-1)!.seq);
      expect(compareClientWithLog(client, log)).toEqual([]);
    }
    expect(await keepAliveGet(agent, `${api.baseUrl}/app.js`)).toBe(200);
  });

  it('Ctrl-C with a browser connected: every gateway drains, exit 0 within 15 s, every process gone', async () => {
    expect(stack.running).toBe(true);
    expect(clients.every((c) => c.connected)).toBe(true);
    expect(agent.freeSockets).not.toEqual({}); // keep-alive connections held to the API
    const tree = descendants(stack.pid);
    expect(tree.length).toBeGreaterThanOrEqual(6); // concurrently, api, 2 gateways, worker, s3

    const startedAt = Date.now();
    process.kill(-stack.pid, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      stack.exited,
      new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), EXIT_DEADLINE_MS))),
    ]);
    clearTimeout(timer);
    reportFigure('local-stack', 'Ctrl-C to exit with clients connected', Date.now() - startedAt, 'ms');
    if (exit === 'deadline') throw new Error(`start-stack.sh still running ${EXIT_DEADLINE_MS} ms after SIGINT:\n${stack.logs()}`);
    // A bad exit says why: the output of npm, the script and every process it supervised.
    if (exit.code !== 0 || exit.signal !== null) throw new Error(`npm start exited ${JSON.stringify(exit)} after SIGINT:\n${stack.logs()}`);
    expect(tree.filter(isAlive)).toEqual([]);
    const logs = stack.logs();
    expect(logs.match(/\[gw-\d\] .*drained: \d+ room\(s\) handed over/g)).toHaveLength(2);
    expect(logs).not.toMatch(/again while stopping/);
  });
});
