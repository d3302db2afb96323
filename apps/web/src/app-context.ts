import type { Api } from './api';
import type { Session } from './session';

/** What every view of the app is given by the shell (main.ts). */
export interface AppContext {
  api: Api;
  session: Session;
  /** Shows `code: message` in the page's alert banner (#error). */
  showError(err: unknown): void;
  clearError(): void;
  /** Goes to an app path (`/`, `/r/<roomId>`, `/admin`) without reloading the page. */
  navigate(path: string): void;
}

/** A mounted view; the shell unmounts it (close sockets, timers, listeners) before the next. */
export interface View {
  unmount(): void;
}
