/**
 * The web app's shell: the header, the error banner, sign-in, and the router that mounts one
 * view at a time into <main id="app"> for `/` (room list), `/r/<roomId>` (a room, also its
 * shareable link) and `/admin`. A path asked for while signed out is kept through sign-in.
 */
import { mountAdminView } from './admin/admin-view';
import { Api, ApiError } from './api';
import type { AppContext, View } from './app-context';
import { mountAuthView } from './auth-view';
import { mountChatView } from './chat/chat-view';
import { byId } from './dom';
import { parseRoute } from './routes';
import { Session } from './session';

const session = new Session();
let view: View | null = null;

/** Shown on the sign-in view when a 401 ended the session (its token expired or was revoked). */
const SESSION_EXPIRED_MESSAGE = 'your session has expired, sign in again (messages not sent yet are kept and sent once you are back)';

const ctx: AppContext = {
  api: new Api(() => session.token, (token) => sessionExpired(token)),
  session,
  showError,
  clearError,
  sessionExpired,
  navigate(path: string) {
    if (path !== location.pathname) history.pushState(null, '', path);
    render();
  },
};

function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  const coded = err as { code?: unknown; message?: unknown } | null;
  if (coded && typeof coded.code === 'string') return `${coded.code}: ${String(coded.message ?? '')}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

function showError(err: unknown): void {
  byId('error-text').textContent = errorText(err);
  byId('error').hidden = false;
}

function clearError(): void {
  byId('error').hidden = true;
  byId('error-text').textContent = '';
}

function signOut(reason?: string): void {
  session.signOut();
  render();
  if (reason) showError(new ApiError(401, 'unauthorized', reason));
}

/**
 * A 401 to a request made with `token` (an API call, or the client library's
 * `POST /rooms/:id/connection` after a reconnect): back to sign-in with the path kept, so that
 * signing in again returns to the same room. The room's outbox (localStorage, per user and room)
 * is not touched by signing out: the room view of the new session shows those messages pending
 * and the client library sends them. A second 401 of the same session (or one of an older
 * session) changes nothing.
 */
function sessionExpired(token: string): void {
  if (!session.token || token !== session.token) return;
  signOut(SESSION_EXPIRED_MESSAGE);
}

function renderHeader(): void {
  const user = session.user;
  byId('who').hidden = !user;
  byId('nav').hidden = !user;
  byId('who-name').textContent = user?.username ?? '';
  byId('nav-admin').hidden = !session.isAdmin;
}

/** Mounts the view of the current path (or sign-in), unmounting the previous one first. */
function render(): void {
  view?.unmount();
  view = null;
  renderHeader();
  const root = byId('app');
  if (!session.token) {
    view = mountAuthView(root, ctx, () => render());
    return;
  }
  const route = parseRoute(location.pathname);
  switch (route.name) {
    case 'rooms':
      view = mountChatView(root, ctx, { roomId: null });
      break;
    case 'room':
      view = mountChatView(root, ctx, { roomId: route.roomId });
      break;
    case 'admin':
      if (!session.isAdmin) {
        showError(new ApiError(403, 'forbidden', 'the admin view needs the admin role'));
        ctx.navigate('/');
        return;
      }
      view = mountAdminView(root, ctx);
      break;
    case 'unknown':
      showError(new ApiError(404, 'not_found', `no page at ${route.path}`));
      ctx.navigate('/');
      return;
  }
}

function boot(): void {
  byId('error-close').addEventListener('click', clearError);
  byId('logout').addEventListener('click', () => signOut());
  // In-app links (<a href="/...">) change the view without a reload; modified clicks (new tab) do not.
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[href^="/"]') as HTMLAnchorElement | null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (link.target && link.target !== '_self') return;
    if (link.hasAttribute('download')) return;
    event.preventDefault();
    ctx.navigate(link.pathname);
  });
  window.addEventListener('popstate', () => render());
  render();
}

boot();
