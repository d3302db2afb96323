import type { AppContext } from '../app-context';

/** One block of the admin view: its element and what to release when the view goes. */
export interface Panel {
  element: HTMLElement;
  unmount(): void;
}

/** What every admin panel gets: the app context and the view's polite live region. */
export interface PanelContext {
  ctx: AppContext;
  /** Says something to screen readers (and shows it in the view's status line). */
  announce(message: string): void;
}
