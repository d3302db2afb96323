import type { AppContext, View } from '../app-context';
import { mountLobbyView } from './lobby-view';
import { mountRoomView } from './room-view';

/** The chat: the room list (`roomId` null, the lobby) or one room. */
export function mountChatView(root: HTMLElement, ctx: AppContext, route: { roomId: string | null }): View {
  return route.roomId === null ? mountLobbyView(root, ctx) : mountRoomView(root, ctx, route.roomId);
}
