import { Cluster, Redis } from 'ioredis';
import { baseEnv, freePort, ManagedProcess, waitFor } from './processes';
import { S3Server } from './s3-server';
import { TcpProxy, throughProxy } from './tcp-proxy';

export interface GatewayProcess {
  id: string;
  url: string;
  port: number;
  env: Record<string, string>;
  proc: ManagedProcess;
}

export interface StackOptions {
  gateways?: number;
  /** Extra environment for every process (e.g. RATE_LIMIT_MSG_PER_SEC). */
  env?: Record<string, string>;
  /** Prefix of gateway ids, unique per suite. */
  name: string;
  /**
   * Object store of the stack. `'own'` (default): a fresh S3 server started for this stack on a
   * free port and removed by `stop()`; `'env'`: the S3_* settings of the environment (as
   * scripts/test.sh exports them); an `S3Server`: one the caller started and stops itself (e.g.
   * shared by two stacks in turn).
   */
  s3?: 'own' | 'env' | S3Server;
  /** Gateways reach Postgres through a TCP proxy (`stack.pgProxy`) that the test can cut. */
  pgProxy?: boolean;
  /**
   * Every process of the stack (API, gateways, and a worker or CLI started with `stack.env()`)
   * reaches Redis (REDIS_URL) through a TCP proxy (`stack.redisProxy`) that the test can cut.
   * Not with a Redis Cluster, whose nodes hand out their own addresses.
   */
  redisProxy?: boolean;
  /** Keep the Redis test database as it is (a restart of a whole stack); default: flush it. */
  keepRedis?: boolean;
}

export type ExitInfo = { name: string; code: number | null; signal: NodeJS.Signals | null };

/**
 * The real local stack for a test: the API and N gateways started from dist/ as separate
 * processes, on free loopback ports, with optionally its own S3 server and a Postgres proxy for
 * the gateways. Stopped by PID in `stop()`.
 */
export class TestStack {
  apiUrl = '';
  api!: ManagedProcess;
  readonly gateways: GatewayProcess[] = [];
  /** The stack's S3 server, when it has one of its own or was given one (not with `s3: 'env'`). */
  s3: S3Server | undefined;
  /** Between the gateways and Postgres when `pgProxy` was asked for. */
  pgProxy: TcpProxy | undefined;
  /** Between every process and Redis when `redisProxy` was asked for. */
  redisProxy: TcpProxy | undefined;
  private ownsS3 = false;

  private constructor(private readonly options: StackOptions) {}

  static async start(options: StackOptions): Promise<TestStack> {
    const stack = new TestStack(options);
    if (!options.keepRedis) await resetRedis();
    try {
      const s3 = options.s3 ?? 'own';
      if (s3 === 'own') {
        stack.s3 = await S3Server.start();
        stack.ownsS3 = true;
      } else if (s3 !== 'env') {
        stack.s3 = s3;
      }
      if (options.pgProxy) {
        const target = new URL(baseEnv().DATABASE_URL!);
        stack.pgProxy = await TcpProxy.start({ host: target.hostname || '127.0.0.1', port: Number(target.port || 5432) });
      }
      if (options.redisProxy) {
        if (process.env.REDIS_CLUSTER_NODES) throw new Error('redisProxy: not with a Redis Cluster (REDIS_CLUSTER_NODES is set)');
        const target = new URL(baseEnv().REDIS_URL!);
        stack.redisProxy = await TcpProxy.start({ host: target.hostname || '127.0.0.1', port: Number(target.port || 6379) });
      }
      await stack.startApi();
      for (let i = 1; i <= (options.gateways ?? 2); i++) await stack.startGateway(`${options.name}-gw-${i}`);
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  /**
   * Environment of the stack's processes (API, CLI): the test databases, the stack's S3, the
   * Redis Cluster of the cluster run (REDIS_CLUSTER_NODES), the Redis proxy, and `options.env`.
   */
  env(extra: Record<string, string> = {}): Record<string, string> {
    const redis: Record<string, string> = {};
    if (process.env.REDIS_CLUSTER_NODES) redis.REDIS_CLUSTER_NODES = process.env.REDIS_CLUSTER_NODES;
    if (this.redisProxy) redis.REDIS_URL = throughProxy(baseEnv().REDIS_URL!, this.redisProxy);
    return baseEnv({ ...(this.s3?.env() ?? {}), ...redis, ...this.options.env, ...extra });
  }

  async startApi(): Promise<void> {
    const port = await freePort();
    this.apiUrl = `http://127.0.0.1:${port}`;
    this.api = ManagedProcess.start('api', 'dist/apps/api/src/main.js', this.env({ PORT: String(port) }));
    await waitForHttp(this.apiUrl, this.api);
  }

  /** Starts a gateway (a new id, or a restart of a known one on its old port). */
  async startGateway(id: string): Promise<GatewayProcess> {
    const known = this.gateways.find((g) => g.id === id);
    const port = known?.port ?? (await freePort());
    const url = `http://127.0.0.1:${port}`;
    const database: Record<string, string> = this.pgProxy ? { DATABASE_URL: throughProxy(baseEnv().DATABASE_URL!, this.pgProxy) } : {};
    const env = this.env({ PORT: String(port), GATEWAY_ID: id, GATEWAY_PUBLIC_URL: url, ...database });
    const proc = ManagedProcess.start(id, 'dist/apps/gateway/src/main.js', env);
    const gateway: GatewayProcess = { id, url, port, env, proc };
    if (known) Object.assign(known, gateway);
    else this.gateways.push(gateway);
    await waitForHttp(url, proc);
    return known ?? gateway;
  }

  gateway(id: string): GatewayProcess {
    const gw = this.gateways.find((g) => g.id === id);
    if (!gw) throw new Error(`no gateway ${id}`);
    return gw;
  }

  /** `kill -9` of one gateway, by PID; resolves once it is gone. */
  async killGateway(id: string): Promise<void> {
    await this.gateway(id).proc.kill();
  }

  /**
   * `npm run cli -- create-admin <username> <password>` with the stack's environment. Resolves
   * with the CLI's output; rejects (with the output) when it exits non-zero.
   */
  async createAdmin(username: string, password: string): Promise<string> {
    const cli = ManagedProcess.start('cli', 'dist/apps/cli/src/main.js', this.env(), ['create-admin', username, password]);
    const timer = setTimeout(() => cli.signal('SIGKILL'), 30_000);
    const exit = await cli.exited;
    clearTimeout(timer);
    if (exit.code !== 0) throw new Error(`create-admin exited ${exit.code ?? exit.signal}:\n${cli.logs()}`);
    return cli.logs();
  }

  /**
   * Stops every process of the stack (SIGTERM by PID, SIGKILL after a grace period), then the
   * Postgres proxy and the stack's own S3 server. Resolves with how each process exited.
   */
  async stop(): Promise<ExitInfo[]> {
    this.pgProxy?.restore();
    this.redisProxy?.restore();
    const procs = [...this.gateways.map((g) => g.proc), this.api].filter((p): p is ManagedProcess => Boolean(p));
    const exits = await Promise.all(procs.map(async (p) => ({ name: p.name, ...(await p.stop()) })));
    await this.pgProxy?.close().catch(() => undefined);
    await this.redisProxy?.close().catch(() => undefined);
    if (this.ownsS3) await this.s3?.destroy().catch(() => undefined);
    return exits;
  }

  /** Everything the processes printed, for a failing test's message. */
  logs(): string {
    const noise = /RouterExplorer|RoutesResolver|InstanceLoader|WebSocketsController|NodeVersionSupportWarning|^\s*$/;
    return [this.api, ...this.gateways.map((g) => g.proc), this.s3?.proc]
      .filter((p): p is ManagedProcess => Boolean(p))
      .map((p) => {
        const lines = p
          .logs()
          .replace(/\u001b\[[0-9;]*m/g, '')
          .split('\n')
          .filter((line) => !noise.test(line));
        return `----- ${p.name} (pid ${p.pid}${p.running ? '' : ', exited'}) -----\n${lines.join('\n').slice(-4000)}`;
      })
      .join('\n');
  }
}

async function waitForHttp(url: string, proc: ManagedProcess): Promise<void> {
  await waitFor(`${proc.name} to answer on ${url}`, async () => {
    if (!proc.running) throw new Error(`${proc.name} exited:\n${proc.logs()}`);
    const res = await fetch(`${url}/health/live`);
    return res.ok;
  });
}

/**
 * The end-to-end suites own the test Redis database: start each from an empty one. In the
 * cluster run they own the whole throw-away cluster, and every master is flushed.
 */
async function resetRedis(): Promise<void> {
  const seeds = process.env.REDIS_CLUSTER_NODES;
  if (seeds) {
    const cluster = new Cluster(seeds.split(',').map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) })));
    try {
      await cluster.ping(); // the masters are known once the cluster client is ready
      await Promise.all(cluster.nodes('master').map((node) => node.flushall()));
    } finally {
      cluster.disconnect();
    }
    return;
  }
  const redis = new Redis(baseEnv().REDIS_URL!);
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
