/**
 * A minimal Chrome DevTools Protocol client for a process a test started with
 * `NODE_OPTIONS=--inspect=127.0.0.1:0`, so a heap reading can follow a full garbage collection
 * (`HeapProfiler.collectGarbage`) without any test hook in product code. Node 20 has no global
 * WebSocket: this uses `ws` (installed with socket.io).
 */
import WebSocket from 'ws';
import { waitFor } from './processes';

/** The line Node prints on stderr when its inspector listens (`--inspect=host:0` picks a port). */
const LISTENING = /Debugger listening on (ws:\/\/\S+)/;

/** The inspector's WebSocket URL from a process's output; waits for the line to appear. */
export function inspectorUrlFrom(logs: () => string, timeoutMs = 20_000): Promise<string> {
  return waitFor('the inspector URL in the process output', async () => LISTENING.exec(logs())?.[1], timeoutMs, 50);
}

export class InspectorClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } };
      const call = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!call) return;
      this.pending.delete(message.id!);
      if (message.error) call.reject(new Error(`inspector: ${message.error.message}`));
      else call.resolve(message.result);
    });
    socket.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error('inspector: connection closed'));
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<InspectorClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new InspectorClient(socket)));
      socket.once('error', reject);
    });
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: ${method} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result as T);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, compacting collection in the target process (what a heap snapshot does first). */
  async collectGarbage(): Promise<void> {
    await this.call('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.socket.close();
  }
}
