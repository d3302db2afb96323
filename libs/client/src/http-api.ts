import type { EventEnvelope } from '../../domain/src/events.js';
import { ClientError, type ClientErrorCode } from './client-error.js';

/** `POST /rooms/:id/connection` (CONTRACT.md). */
export interface ConnectionInfo {
  roomId: string;
  gatewayId: string;
  url: string;
  ticket: string;
  expiresAt: string;
}

/** `GET /rooms/:id/events`. */
export interface EventsPage {
  events: EventEnvelope[];
  headSeq: number;
}

export type FetchLike = (input: string, init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  text(): Promise<string>;
}>;

/** The few HTTP calls the recipe needs, with a deadline each; errors become `ClientError`s. */
export class HttpApi {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => string,
    private readonly fetchImpl: FetchLike,
    private readonly timeoutMs: number,
  ) {}

  connection(roomId: string): Promise<ConnectionInfo> {
    return this.request<ConnectionInfo>('POST', `/rooms/${encodeURIComponent(roomId)}/connection`);
  }

  events(roomId: string, query: { after?: number; before?: number; limit?: number }): Promise<EventsPage> {
    const params = new URLSearchParams();
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.before !== undefined) params.set('before', String(query.before));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    return this.request<EventsPage>('GET', `/rooms/${encodeURIComponent(roomId)}/events${qs ? `?${qs}` : ''}`);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let res: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      text = await res.text();
    } catch (err) {
      const aborted = controller.signal.aborted;
      throw new ClientError(aborted ? 'timeout' : 'network', `${method} ${path}: ${aborted ? `no answer within ${this.timeoutMs} ms` : (err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    const parsed = parseJson(text);
    if (!res.ok) {
      const { code, message } = responseError(res.status, res.statusText, parsed);
      throw new ClientError(code, `${method} ${path}: ${res.status} ${message}`, res.status);
    }
    return parsed as T;
  }
}

/** A response body as JSON, or undefined when it is empty or not JSON. */
export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The error of a failed response: the contract's `{error: {code, message}}` body when it has
 * one; otherwise (a proxy's page, say) the code its status means and the status text.
 */
export function responseError(status: number, statusText: string, body: unknown): { code: ClientErrorCode; message: string } {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return {
    code: typeof error?.code === 'string' ? (error.code as ClientErrorCode) : statusCode(status),
    message: typeof error?.message === 'string' ? error.message : statusText,
  };
}

/** An error answer without the contract's body: the code its status means. */
function statusCode(status: number): ClientErrorCode {
  if (status === 400) return 'invalid';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  return 'unavailable';
}
