import type { Server as SocketIoServer } from 'socket.io';

/**
 * The part of engine.io's WebSocket transport this module touches. engine.io and ws keep these
 * members internal (`_socket` is ws's TCP socket), so each is checked before use and a transport
 * that lacks one is left as it is.
 */
interface WebSocketTransport {
  name: string;
  send(packets: unknown[]): void;
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

const coalesced = new WeakSet<object>();

/**
 * Writes the WebSocket frames that engine.io flushes together as one socket write.
 *
 * Why: while a client's previous write is in progress engine.io buffers the packets emitted for
 * it and then hands them to the transport together, but ws writes each one as its own frame, a
 * `writev` system call per frame. A group commit tells many rooms at once, so a member typically
 * gets the acks and the room broadcasts of a whole commit in one such flush. Under scenario 1 of
 * `npm run bench -- compare` those per-frame calls were 40 % of the gateway's main thread
 * (BENCHMARKS.md). Corking the TCP socket around the flush sends the same frames, in the same
 * order, in one call: ws's own cork per frame nests inside, and the last frame's write callback
 * (engine.io's "drain") still comes once the data is written.
 */
export function coalesceFrameWrites(io: SocketIoServer): void {
  io.engine.on('connection', (conn: { transport: WebSocketTransport; on(event: 'upgrade', listener: (transport: WebSocketTransport) => void): void }) => {
    corkEachFlush(conn.transport);
    conn.on('upgrade', corkEachFlush); // a client that began on long-polling
  });
}

function corkEachFlush(transport: WebSocketTransport): void {
  if (transport.name !== 'websocket' || coalesced.has(transport)) return;
  const tcp = transport.socket?._socket;
  if (typeof tcp?.cork !== 'function' || typeof tcp.uncork !== 'function') return;
  coalesced.add(transport);
  const send = transport.send;
  transport.send = function sendCorked(this: WebSocketTransport, packets: unknown[]): void {
    if (packets.length < 2) return send.call(this, packets);
    tcp.cork();
    try {
      send.call(this, packets);
    } finally {
      tcp.uncork();
    }
  };
}
