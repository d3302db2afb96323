import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy for fault tests: processes connect to it instead of the real service
 * (e.g. Postgres), so the test can simulate an outage of that service for these processes only,
 * without touching the machine's server.
 *
 * - `cut()` destroys every open connection (both sides) and refuses new ones: a new connection
 *   is accepted and reset at once, so clients fail fast, as against a stopped server.
 * - `silence()` stops forwarding in both directions on every open connection (what is sent is
 *   dropped) and accepts new connections without ever answering: a network partition, a
 *   firewall dropping packets or a wedged server. No error, no close: only the client's own
 *   deadlines end its waits.
 * - `restore()` lets new connections through again (the connections of a silence are reset:
 *   what they sent was lost, so none can go on).
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  /** Sockets of a silence: open, and never forwarded again. */
  private readonly held = new Set<Socket>();
  private isCut = false;
  private isSilent = false;
  /** Connections accepted and passed through / refused while cut / held while silent, for the test's messages. */
  readonly stats = { passed: 0, refused: 0, held: 0, cuts: 0, silences: 0 };
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
    this.server.on('error', () => undefined);
  }

  /** Starts a proxy on a free loopback port forwarding to `host:port`. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target.host, target.port);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => {
        proxy.server.off('error', reject);
        const address = proxy.server.address();
        proxy.port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
    return proxy;
  }

  /** True between `cut()` or `silence()` and `restore()`. */
  get isDown(): boolean {
    return this.isCut || this.isSilent;
  }

  /** Open pass-through connections right now. */
  get connections(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.isCut) {
      this.stats.refused += 1;
      reset(client);
      return;
    }
    if (this.isSilent) {
      this.stats.held += 1;
      this.hold(client);
      return;
    }
    this.stats.passed += 1;
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    upstream.on('error', () => undefined);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const close = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Destroys every connection now and refuses new ones until `restore()`. */
  cut(): void {
    this.isCut = true;
    this.stats.cuts += 1;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      reset(pair.client);
      pair.upstream.destroy();
    }
  }

  /** From now on nothing is forwarded, on open connections or new ones, until `restore()`. */
  silence(): void {
    this.isSilent = true;
    this.stats.silences += 1;
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      this.hold(pair.client);
      this.hold(pair.upstream);
    }
  }

  /** Keeps `socket` open, reading and dropping whatever arrives. */
  private hold(socket: Socket): void {
    this.held.add(socket);
    socket.on('data', () => undefined);
    socket.on('close', () => this.held.delete(socket));
  }

  /**
   * Lets new connections through again (existing clients reconnect on their own); the connections
   * of a silence are reset.
   */
  restore(): void {
    this.isCut = false;
    this.isSilent = false;
    for (const socket of [...this.held]) {
      this.held.delete(socket);
      reset(socket);
    }
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.restore();
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Closes a socket with a TCP RST where the platform allows it (like a crashed peer). */
function reset(socket: Socket): void {
  try {
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}

/** The same connection string, pointing at the proxy on loopback. */
export function throughProxy(connectionString: string, proxy: TcpProxy): string {
  const url = new URL(connectionString);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return url.toString();
}
