/**
 * Downloading a finished export, on the admin's click. `GET /admin/exports/:id/download` needs
 * the Authorization header, which a plain <a href> cannot send, so the view fetches the file with
 * the session's token and hands it to the browser through a temporary <a download> on an object
 * URL that is revoked once the download has started. The file is in memory only for that moment
 * (never fetched unasked, never kept): fine for the room logs an operator downloads by hand; the
 * CLI's `export --out` is the way for huge rooms.
 */
import { parseJson, responseError } from '../../../../libs/client/src/http-api';
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
    const { code, message } = responseError(res.status, res.statusText, parseJson(await res.text()));
    throw new ApiError(res.status, code, message);
  }
  // Typed explicitly: the bytes are the gzip itself (the API sends no Content-Encoding).
  return new Blob([await res.arrayBuffer()], { type: 'application/gzip' });
}

/**
 * How long the object URL outlives the click: the browser reads the Blob asynchronously after
 * the click, so revoking in the same task could cancel the download.
 */
export const REVOKE_AFTER_MS = 1_000;

/**
 * Saves `blob` as `fileName` through a temporary <a download> (added, clicked, removed at once).
 * Its object URL is revoked after REVOKE_AFTER_MS (then `onRevoked` is called); the returned
 * function revokes it sooner (the view unmounting) and is harmless once it was.
 */
export function saveFile(blob: Blob, fileName: string, onRevoked: () => void = () => undefined, revokeAfterMs = REVOKE_AFTER_MS): () => void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  let revoked = false;
  const revoke = () => {
    if (revoked) return;
    revoked = true;
    clearTimeout(timer);
    URL.revokeObjectURL(url);
    onRevoked();
  };
  const timer = setTimeout(revoke, revokeAfterMs);
  return revoke;
}
