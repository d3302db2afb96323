import type { Server } from 'socket.io';
import type { EventEnvelope, MovedReason } from '../../../../libs/domain/src';
import type { RoomChannel } from '../rooms/room.actor';

/** Socket.IO room holding every socket that joined (receives `room:event`). */
export const joinedRoom = (roomId: string) => roomId;
/** Socket.IO room holding every socket connected for the room, joined or not (gets `room:moved`). */
export const connectedRoom = (roomId: string) => `conn:${roomId}`;

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

  moved(roomId: string, reason: MovedReason): void {
    if (!this.server) return;
    this.server.to(connectedRoom(roomId)).emit('room:moved', { roomId, reason });
    // Let the notice flush before the sockets close; clients reconnect through the API.
    const server = this.server;
    setTimeout(() => server.in(connectedRoom(roomId)).disconnectSockets(true), 50).unref();
  }
}
