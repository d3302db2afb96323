import type { Server, Socket } from 'socket.io';
import type { EventEnvelope, MovedReason } from '../../../../libs/domain/src';
import type { KickReason, RoomChannel } from '../rooms/room.actor';

/** Socket.IO room holding every socket that joined (receives `room:event`). */
export const joinedRoom = (roomId: string) => roomId;
/** Socket.IO room holding every socket connected for the room, joined or not (gets `room:moved`). */
export const connectedRoom = (roomId: string) => `conn:${roomId}`;
/** Socket.IO room holding one user's sockets connected for the room (`room:kicked` goes there). */
export const userRoom = (roomId: string, userId: string) => `user:${roomId}:${userId}`;

/** How long a kicked socket has to receive `room:kicked` before it is closed, ms. */
const KICK_FLUSH_MS = 50;

/** RoomChannel over the Socket.IO server, attached once the server exists. */
export class SocketRoomChannel implements RoomChannel {
  private server: Server | undefined;

  attach(server: Server): void {
    this.server = server;
  }

  /** Sockets connected to this gateway, for its heartbeat. */
  connectionCount(): number {
    return this.server?.engine.clientsCount ?? 0;
  }

  /** Sockets connected for the room on this gateway, joined or not (0 before the server exists). */
  socketsIn(roomId: string): number {
    return this.server?.sockets.adapter.rooms.get(connectedRoom(roomId))?.size ?? 0;
  }

  event(envelope: EventEnvelope): void {
    this.server?.to(joinedRoom(envelope.roomId)).emit('room:event', envelope);
  }

  /**
   * Removed or banned: every socket of the user in the room is told and closed (well within the
   * contract's second). Leaving the Socket.IO rooms at once stops `room:event` to them even
   * before the close: nothing after the ban reaches the user.
   */
  kicked(roomId: string, userId: string, reason: KickReason): void {
    if (!this.server) return;
    const target = userRoom(roomId, userId);
    this.server.to(target).emit('room:kicked', { roomId, reason });
    this.server.in(target).socketsLeave([joinedRoom(roomId), connectedRoom(roomId)]);
    const server = this.server;
    setTimeout(() => server.in(target).disconnectSockets(true), KICK_FLUSH_MS).unref();
  }

  /**
   * Called for each socket `unsubscribed` takes out of a room, so the transport can undo its
   * join (presence, typing, the socket's joined mark) as a disconnect would.
   */
  onUnsubscribed: ((socket: Socket) => void) | undefined;

  /** Left a private room: the user's sockets no longer get its events (a new join is refused). */
  unsubscribed(roomId: string, userId: string): void {
    if (!this.server) return;
    const ids = this.server.sockets.adapter.rooms.get(userRoom(roomId, userId));
    // A copy: leaving changes no user room, but the hook must not see a set that moves under it.
    for (const id of [...(ids ?? [])]) {
      const socket = this.server.sockets.sockets.get(id);
      if (!socket) continue;
      void socket.leave(joinedRoom(roomId));
      this.onUnsubscribed?.(socket);
    }
  }

  moved(roomId: string, reason: MovedReason): void {
    if (!this.server) return;
    this.server.to(connectedRoom(roomId)).emit('room:moved', { roomId, reason });
    // Let the notice flush before the sockets close; clients reconnect through the API.
    const server = this.server;
    setTimeout(() => server.in(connectedRoom(roomId)).disconnectSockets(true), 50).unref();
  }
}
