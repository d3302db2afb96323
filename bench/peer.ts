/**
 * The baseline peer of the comparison bench (issue 9): a plain Socket.IO server that speaks the
 * gateway's socket events (CONTRACT.md, "Gateway") with nothing durable behind them. Each room's
 * seq is a counter in memory, its recent events an in-memory ring; a send is acknowledged as
 * soon as it is numbered and broadcast. It validates payloads with the same schemas and answers
 * with the same ack shapes and error codes as the gateway, so a client cannot tell the two apart
 * except by speed and by durability. NOT part of the product: it exists only to be measured
 * against (bench/compare-main.ts).
 *
 * Handshake: `auth: {roomId, userId, username}` (no API, no ticket: the peer has no users).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import {
  ackCodeOf,
  DomainError,
  type EventEnvelope,
  JOIN_AFTER_LIMIT,
  JOIN_LATEST_LIMIT,
  parseOrThrow,
  schemas,
} from '../libs/domain/src';

/** Events a peer room keeps for `room:join` (a bench room never needs more). */
export const PEER_TAIL = 1_000;
/** clientMsgIds a peer room remembers for idempotent resends (oldest forgotten first). */
export const PEER_DEDUPE = 10_000;

interface PeerRoom {
  id: string;
  seq: number;
  tail: EventEnvelope[];
  /** `${userId}\u0000${clientMsgId}` → the first ack's seq and ts. */
  sent: Map<string, { seq: number; ts: string }>;
  presence: Map<string, { id: string; username: string; sockets: number }>;
  /** Who has joined (the creator from the start): a first join logs `member.joined`, as ours does. */
  members: Set<string>;
}

interface PeerSocketData {
  roomId: string;
  user: { id: string; username: string };
  joined: boolean;
}

type PeerSocket = Socket<Record<string, never>, Record<string, never>, Record<string, never>, PeerSocketData>;

export interface PeerServer {
  url: string;
  port: number;
  /** Rooms currently held (for the smoke test and for memory readings). */
  rooms(): number;
  close(): Promise<void>;
}

const joinedRoom = (roomId: string) => `joined:${roomId}`;

/** A room as the API creates one: `room.created` at seq 1 by its creator (here: its first socket's user). */
function newRoom(id: string, creator: { id: string; username: string }): PeerRoom {
  const created: EventEnvelope = { roomId: id, seq: 1, type: 'room.created', ts: new Date().toISOString(), actor: { ...creator }, data: { name: `peer room ${id}`, visibility: 'public' } };
  return { id, seq: 1, tail: [created], sent: new Map(), presence: new Map(), members: new Set([creator.id]) };
}

function fail(err: unknown) {
  const known = err instanceof DomainError;
  return { ok: false as const, error: { code: known ? ackCodeOf(err.code) : ('unavailable' as const), message: known ? err.message : 'internal error; retry' } };
}

/** Starts a peer on `port` (0: any free port) on loopback. */
export async function startPeer(port = 0, host = '127.0.0.1'): Promise<PeerServer> {
  const rooms = new Map<string, PeerRoom>();
  const http: HttpServer = createServer((req, res) => {
    if (req.url === '/health/live' || req.url === '/health/ready') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    res.writeHead(404).end();
  });
  const io = new Server(http, { serveClient: false });

  io.use((socket, next) => {
    const auth = (socket.handshake.auth ?? {}) as { roomId?: unknown; userId?: unknown; username?: unknown };
    if (typeof auth.roomId !== 'string' || typeof auth.userId !== 'string' || typeof auth.username !== 'string' || !auth.roomId || auth.roomId.length > 64) {
      next(new Error('unauthorized'));
      return;
    }
    socket.data = { roomId: auth.roomId, user: { id: auth.userId, username: auth.username }, joined: false } satisfies PeerSocketData;
    next();
  });

  const roomOf = (socket: PeerSocket): PeerRoom => {
    let room = rooms.get(socket.data.roomId);
    if (!room) rooms.set(socket.data.roomId, (room = newRoom(socket.data.roomId, socket.data.user)));
    return room;
  };
  const broadcastPresence = (room: PeerRoom) =>
    io.to(joinedRoom(room.id)).emit('room:presence', { users: [...room.presence.values()].map(({ id, username }) => ({ id, username })) });

  /** Appends to the in-memory log and broadcasts, in seq order (single-threaded: no reordering). */
  const append = (room: PeerRoom, socket: PeerSocket, type: EventEnvelope['type'], data: EventEnvelope['data'], clientMsgId?: string) => {
    const event: EventEnvelope = { roomId: room.id, seq: ++room.seq, type, ts: new Date().toISOString(), actor: socket.data.user, data };
    if (clientMsgId !== undefined) event.clientMsgId = clientMsgId;
    room.tail.push(event);
    if (room.tail.length > PEER_TAIL) room.tail.splice(0, room.tail.length - PEER_TAIL);
    io.to(joinedRoom(room.id)).emit('room:event', event);
    return event;
  };

  const findMessage = (room: PeerRoom, seq: number) => {
    const message = room.tail.find((e) => e.seq === seq && e.type === 'message.posted');
    if (!message) throw new DomainError('not_found', `no message ${seq} in this room`);
    return message;
  };

  io.on('connection', (raw) => {
    const socket = raw as PeerSocket;
    const handle = (event: string, run: (payload: unknown) => unknown) =>
      socket.on(event as never, ((payload: unknown, ack: unknown) => {
        if (typeof ack !== 'function') return;
        let result: unknown;
        try {
          result = run(payload);
        } catch (err) {
          result = fail(err);
        }
        (ack as (r: unknown) => void)(result);
      }) as never);

    handle('room:join', (payload) => {
      const { afterSeq } = parseOrThrow(schemas.join, payload ?? {});
      const room = roomOf(socket);
      const { user } = socket.data;
      if (!room.members.has(user.id)) {
        room.members.add(user.id);
        append(room, socket, 'member.joined', { userId: user.id, username: user.username, role: 'member' });
      }
      const events = afterSeq === undefined ? room.tail.slice(-JOIN_LATEST_LIMIT) : room.tail.filter((e) => e.seq > afterSeq).slice(0, JOIN_AFTER_LIMIT);
      const first = events[0]?.seq ?? room.seq + 1;
      const hasMore = afterSeq === undefined ? first > 1 : room.seq - afterSeq > events.length;
      void socket.join(joinedRoom(room.id));
      if (!socket.data.joined) {
        socket.data.joined = true;
        const present = room.presence.get(socket.data.user.id);
        if (present) present.sockets++;
        else {
          room.presence.set(socket.data.user.id, { ...socket.data.user, sockets: 1 });
          broadcastPresence(room);
        }
      }
      return { ok: true, room: { id: room.id, name: `peer room ${room.id}`, headSeq: room.seq }, events, hasMore };
    });

    handle('message:send', (payload) => {
      const { clientMsgId, text } = parseOrThrow(schemas.send, payload);
      const room = roomOf(socket);
      const key = `${socket.data.user.id}\u0000${clientMsgId}`;
      const first = room.sent.get(key);
      if (first) return { ok: true, ...first };
      const event = append(room, socket, 'message.posted', { text }, clientMsgId);
      room.sent.set(key, { seq: event.seq, ts: event.ts });
      if (room.sent.size > PEER_DEDUPE) room.sent.delete(room.sent.keys().next().value!);
      return { ok: true, seq: event.seq, ts: event.ts };
    });

    handle('message:edit', (payload) => {
      const { seq, text } = parseOrThrow(schemas.edit, payload);
      const room = roomOf(socket);
      if (findMessage(room, seq).actor?.id !== socket.data.user.id) throw new DomainError('forbidden', 'only the author may edit a message');
      const event = append(room, socket, 'message.edited', { seq, text });
      return { ok: true, seq: event.seq, ts: event.ts };
    });

    handle('message:delete', (payload) => {
      const { seq } = parseOrThrow(schemas.delete, payload);
      const room = roomOf(socket);
      if (findMessage(room, seq).actor?.id !== socket.data.user.id) throw new DomainError('forbidden', 'only the author may delete a message');
      const event = append(room, socket, 'message.deleted', { seq });
      return { ok: true, seq: event.seq, ts: event.ts };
    });

    socket.on('disconnect', () => {
      if (!socket.data.joined) return;
      const room = rooms.get(socket.data.roomId);
      const present = room?.presence.get(socket.data.user.id);
      if (!room || !present) return;
      if (--present.sockets === 0) {
        room.presence.delete(socket.data.user.id);
        broadcastPresence(room);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  const actual = (http.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    rooms: () => rooms.size,
    close: () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
      }),
  };
}
