/**
 * Fetches a finished export's file. `GET /admin/exports/:id/download` needs the Authorization
 * header, which a plain <a href> cannot send, so the view fetches the file with the session's
 * token and offers it as a Blob object URL (the caller revokes it). The whole file is held in
 * memory: fine for the room logs an operator downloads by hand; the CLI's `export --out` is the
 * way for huge rooms.
 */
import { ApiError, seg } from '../api';

export async function fetchExportFile(exportId: string, token: string | null, signal: AbortSignal): Promise<Blob> {
  let res: Response;
  try {
    res = await fetch(`/admin/exports/${seg(exportId)}/download`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ApiError(0, 'network', `the download did not start (${(err as Error).message})`);
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = res.statusText;
    try {
      const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      // not a JSON error body: keep the HTTP status
    }
    throw new ApiError(res.status, code, message);
  }
  // Typed explicitly: the bytes are the gzip itself (the API sends no Content-Encoding).
  return new Blob([await res.arrayBuffer()], { type: 'application/gzip' });
}
