import type { Api } from './api';
import type { Session } from './session';

/** What every view of the app is given by the shell (main.ts). */
export interface AppContext {
  api: Api;
  session: Session;
  /** Shows `code: message` in the page's alert banner (#error). */
  showError(err: unknown): void;
  clearError(): void;
  /**
   * A request made with `token` was answered 401 (the token expired or was revoked): signs the
   * user out to the sign-in view with a message that says so, keeping the path (a room) to come
   * back to. The path every 401 takes: `api` calls it itself, the room view on a client library
   * failure. Ignored when `token` is not the current session's (already signed out, or newer).
   */
  sessionExpired(token: string): void;
  /** Goes to an app path (`/`, `/r/<roomId>`, `/admin`) without reloading the page. */
  navigate(path: string): void;
}

/** A mounted view; the shell unmounts it (close sockets, timers, listeners) before the next. */
export interface View {
  unmount(): void;
}
