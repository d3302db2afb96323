import type { AppContext, View } from '../app-context';
import { h } from '../dom';
import { mountRoomView } from './room-view';

/**
 * The chat: the room list (`roomId` null) or one room. The room list is a PLACEHOLDER of the
 * scaffold on this branch (the lobby lands separately).
 */
export function mountChatView(root: HTMLElement, ctx: AppContext, route: { roomId: string | null }): View {
  if (route.roomId) return mountRoomView(root, ctx, route.roomId);
  const section = h('section', { id: 'lobby-view' }, h('h2', {}, 'Rooms'));
  root.replaceChildren(section);
  return { unmount: () => section.remove() };
}
