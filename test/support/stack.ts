import { Redis } from 'ioredis';
import { baseEnv, freePort, ManagedProcess, waitFor } from './processes';

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
}

/**
 * The real local stack for a test: the API and N gateways started from dist/ as separate
 * processes, on free loopback ports. Stopped by PID in `stop()`.
 */
export class TestStack {
  apiUrl = '';
  api!: ManagedProcess;
  readonly gateways: GatewayProcess[] = [];

  private constructor(private readonly options: StackOptions) {}

  static async start(options: StackOptions): Promise<TestStack> {
    const stack = new TestStack(options);
    await resetRedis();
    try {
      await stack.startApi();
      for (let i = 1; i <= (options.gateways ?? 2); i++) await stack.startGateway(`${options.name}-gw-${i}`);
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  async startApi(): Promise<void> {
    const port = await freePort();
    this.apiUrl = `http://127.0.0.1:${port}`;
    this.api = ManagedProcess.start('api', 'dist/apps/api/src/main.js', baseEnv({ ...this.options.env, PORT: String(port) }));
    await waitForHttp(this.apiUrl, this.api);
  }

  /** Starts a gateway (a new id, or a restart of a known one on its old port). */
  async startGateway(id: string): Promise<GatewayProcess> {
    const known = this.gateways.find((g) => g.id === id);
    const port = known?.port ?? (await freePort());
    const url = `http://127.0.0.1:${port}`;
    const env = baseEnv({ ...this.options.env, PORT: String(port), GATEWAY_ID: id, GATEWAY_PUBLIC_URL: url });
    const proc = ManagedProcess.start(id, 'dist/apps/gateway/src/main.js', env);
    await waitForHttp(url, proc);
    const gateway: GatewayProcess = { id, url, port, env, proc };
    if (known) Object.assign(known, gateway);
    else this.gateways.push(gateway);
    return known ?? gateway;
  }

  gateway(id: string): GatewayProcess {
    const gw = this.gateways.find((g) => g.id === id);
    if (!gw) throw new Error(`no gateway ${id}`);
    return gw;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.gateways.map((g) => g.proc.stop()), this.api?.stop()]);
  }

  /** Everything the processes printed, for a failing test's message. */
  logs(): string {
    return [this.api, ...this.gateways.map((g) => g.proc)]
      .filter(Boolean)
      .map((p) => `----- ${p.name} -----\n${p.logs().slice(-4000)}`)
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

/** The end-to-end suites own the test Redis database: start each from an empty one. */
async function resetRedis(): Promise<void> {
  const redis = new Redis(baseEnv().REDIS_URL!);
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }
}
