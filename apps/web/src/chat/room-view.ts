import type { AppContext, View } from '../app-context';
import { h } from '../dom';

/**
 * A room, path `/r/<roomId>`. PLACEHOLDER kept by the lobby branch so that its links land
 * somewhere; the room view (messages, members, composer) replaces this file.
 */
export function mountRoomView(root: HTMLElement, _ctx: AppContext, roomId: string): View {
  const section = h('section', { id: 'room-view' }, h('h2', { id: 'room-name' }, roomId));
  root.replaceChildren(section);
  return { unmount: () => section.remove() };
}
