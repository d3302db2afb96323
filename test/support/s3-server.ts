import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { baseEnv, ManagedProcess, waitFor } from './processes';

/**
 * A test's own S3-compatible server (scripts/s3-server.mjs, s3rver) as a real process. Its data
 * lives in a temporary directory that survives `stop()`/`start()`, so an outage can be simulated
 * and the server brought back on the SAME port with the same objects; `destroy()` removes it.
 */
export class S3Server {
  proc: ManagedProcess | undefined;
  port = 0;
  readonly dir: string;
  /** Times the server was (re)started. */
  starts = 0;

  private constructor(
    readonly bucket: string,
    parentDir: string,
  ) {
    this.dir = mkdtempSync(join(parentDir, 'durable-rooms-test-s3-'));
  }

  /**
   * Starts a server on a free port (or `port`), creating `bucket`, with its data in a new
   * directory under `parentDir` (default: the system's temporary directory).
   */
  static async start(options: { bucket?: string; port?: number; parentDir?: string } = {}): Promise<S3Server> {
    const server = new S3Server(options.bucket ?? 'durable-rooms', options.parentDir ?? tmpdir());
    server.port = options.port ?? 0;
    try {
      await server.start();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return Boolean(this.proc?.running);
  }

  /** The S3 settings every process of a stack needs to use this server. */
  env(): Record<string, string> {
    return {
      S3_ENDPOINT: this.endpoint,
      S3_BUCKET: this.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    };
  }

  /** (Re)starts the server: the first time on the requested port, afterwards on the same one. */
  async start(): Promise<void> {
    if (this.running) return;
    const proc = ManagedProcess.start(`s3-${this.starts + 1}`, 'scripts/s3-server.mjs', baseEnv(), [
      '--port',
      String(this.port),
      '--dir',
      this.dir,
      '--bucket',
      this.bucket,
    ]);
    this.proc = proc;
    this.starts += 1;
    const url = await waitFor(
      `the S3 server to listen (${this.dir})`,
      async () => {
        const match = /s3: listening (http:\/\/\S+)/.exec(proc.logs());
        if (match) return match[1]!;
        if (!proc.running) throw new Error(`s3 server exited:\n${proc.logs()}`);
        return undefined;
      },
      15_000,
      50,
    );
    this.port = Number(new URL(url).port);
  }

  /** Stops the server (SIGTERM, by PID); the data directory is kept for a restart. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    if (!this.proc) return undefined;
    return this.proc.stop(8_000);
  }

  /** Stops the server and removes its data. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** An SDK client for the test itself (checksums only when required, as s3rver needs). */
  client(): S3Client {
    return new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
  }

  logs(): string {
    return this.proc?.logs() ?? '';
  }
}
