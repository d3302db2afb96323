import type { AppContext, View } from '../app-context';
import { h } from '../dom';

/**
 * The chat: the room list (`roomId` null) or one room. PLACEHOLDER of the scaffold, replaced by
 * the chat view (room list, messages, members, replies, reactions, typing, search).
 */
export function mountChatView(root: HTMLElement, _ctx: AppContext, route: { roomId: string | null }): View {
  const section = h('section', { id: route.roomId ? 'room-view' : 'lobby-view' }, h('h2', {}, route.roomId ? `Room ${route.roomId}` : 'Rooms'));
  root.replaceChildren(section);
  return { unmount: () => section.remove() };
}
