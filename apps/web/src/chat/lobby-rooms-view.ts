/**
 * "My rooms" (DOM contract: <ul id="my-rooms">, "Load more" #more-rooms): renders RoomsModel
 * snapshots, refreshes every 5 s while the page is visible and when the window regains focus.
 */
import type { RoomListEntry } from '../api';
import type { AppContext, View } from '../app-context';
import { h } from '../dom';
import { roomPath } from '../routes';
import { roomRoleLabel, unreadBadge } from './lobby-model';
import { RoomsModel, type RoomsSnapshot } from './lobby-rooms-model';

const REFRESH_MS = 5_000;
const PAGE_SIZE = 50;

function roomItem(room: RoomListEntry): HTMLLIElement {
  const badge = unreadBadge(room.unread);
  return h(
    'li',
    { 'data-room-id': room.id, class: 'lobby-room' },
    h('a', { class: 'room-link', href: roomPath(room.id) }, room.name),
    h('span', { class: 'role' }, roomRoleLabel(room)),
    // role=img: the badge is one picture "5 unread" to assistive technology, not a bare "5".
    badge && h('span', { class: 'unread', role: 'img', 'aria-label': badge.label }, badge.text),
  );
}

export function mountRoomsList(container: HTMLElement, ctx: AppContext): View {
  const list = h('ul', { id: 'my-rooms', 'aria-labelledby': 'my-rooms-title' });
  const empty = h('p', { class: 'hint', id: 'my-rooms-empty', hidden: true }, 'You are in no room yet: create one or join one by its link.');
  const more = h('button', { type: 'button', id: 'more-rooms', class: 'secondary', hidden: true }, 'Load more');
  container.append(h('h3', { id: 'my-rooms-title' }, 'My rooms'), empty, list, more);

  const model = new RoomsModel((before) => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (before !== null) query.set('before', before);
    return ctx.api.get(`/rooms?${query.toString()}`);
  });
  let mounted = true;

  const render = (snapshot: RoomsSnapshot): void => {
    if (!mounted) return;
    list.replaceChildren(...snapshot.rooms.map(roomItem));
    empty.hidden = snapshot.rooms.length > 0;
    more.hidden = !snapshot.hasMore;
  };
  // A failed background refresh says so once; the next good one is silent again.
  let refreshFailed = false;
  const refresh = (): void => {
    model.refresh().then(
      (snapshot) => {
        refreshFailed = false;
        render(snapshot);
      },
      (err: unknown) => {
        if (mounted && !refreshFailed) ctx.showError(err);
        refreshFailed = true;
      },
    );
  };

  more.addEventListener('click', () => {
    more.disabled = true;
    model
      .loadMore()
      .then(render, (err: unknown) => mounted && ctx.showError(err))
      .finally(() => {
        more.disabled = false;
      });
  });

  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') refresh();
  }, REFRESH_MS);
  const onVisible = (): void => {
    if (document.visibilityState === 'visible') refresh();
  };
  window.addEventListener('focus', refresh);
  document.addEventListener('visibilitychange', onVisible);
  refresh();

  return {
    unmount: () => {
      mounted = false;
      clearInterval(timer);
      window.removeEventListener('focus', refresh);
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
