import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that can fall silent, for deadline tests. `silence()` stops forwarding in
 * both directions on every open connection (whatever is sent is dropped) and accepts new
 * connections without ever answering: what a network partition, a firewall dropping packets or a
 * wedged server look like to a client. No error, no close, nothing; only the client's own
 * deadlines end its waits. (TcpProxy's `cut()` is the other outage: refused and reset
 * connections, which fail at once.)
 *
 * `restore()` resets the connections of the silence (what they sent was lost, so none can go on)
 * and forwards new connections again.
 */
export class SilentProxy {
  private readonly server: Server;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  /** Sockets of the silence: open, and never forwarded again. */
  private readonly held = new Set<Socket>();
  private isSilent = false;
  /** Connections passed through / accepted and left unanswered, for the test's messages. */
  readonly stats = { passed: 0, held: 0, silences: 0 };
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
    this.server.on('error', () => undefined);
  }

  /** Starts a proxy on a free loopback port forwarding to `host:port`. */
  static async start(target: { host: string; port: number }): Promise<SilentProxy> {
    const proxy = new SilentProxy(target.host, target.port);
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

  /** Starts a proxy to the host and port of a connection string (e.g. DATABASE_URL). */
  static async to(connectionString: string, defaultPort: number): Promise<SilentProxy> {
    const url = new URL(connectionString);
    return SilentProxy.start({ host: url.hostname || '127.0.0.1', port: Number(url.port || defaultPort) });
  }

  /** The same connection string, pointing at this proxy. */
  url(connectionString: string): string {
    const url = new URL(connectionString);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** True between `silence()` and `restore()`. */
  get isDown(): boolean {
    return this.isSilent;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
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
      // A pair of the silence stays as it is: nothing of the upstream reaches the client now.
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Keeps `socket` open, reading and dropping whatever arrives. */
  private hold(socket: Socket): void {
    this.held.add(socket);
    socket.on('data', () => undefined);
    socket.on('close', () => this.held.delete(socket));
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

  /** Resets every connection of the silence and forwards new connections again. */
  restore(): void {
    this.isSilent = false;
    for (const socket of [...this.held]) {
      this.held.delete(socket);
      reset(socket);
    }
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    this.restore();
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      pair.client.destroy();
      pair.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Closes a socket with a TCP RST where the platform allows it (like a peer that lost its state). */
function reset(socket: Socket): void {
  try {
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}
