import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { coalesceFrameWrites } from './coalesced-writes';

/** A real Socket.IO server and client on loopback; the server side of the one connection. */
async function pair(coalesce: boolean, transports: Array<'polling' | 'websocket'> = ['websocket']): Promise<{ server: Server; http: HttpServer; client: ClientSocket; socket: Socket }> {
  const http = createServer();
  const server = new Server(http);
  if (coalesce) coalesceFrameWrites(server);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const connected = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports, forceNew: true });
  return { server, http, client, socket: await connected };
}

/** Counts the writes that reach the server side's TCP socket (each one a write/writev system call). */
function countTcpWrites(socket: Socket): { count: () => number } {
  const tcp = (socket.conn.transport as unknown as { socket: { _socket: NetSocket } }).socket._socket as NetSocket & {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  let writes = 0;
  const write = tcp._write.bind(tcp);
  const writev = tcp._writev.bind(tcp);
  tcp._write = (...args) => {
    writes += 1;
    write(...args);
  };
  tcp._writev = (...args) => {
    writes += 1;
    writev(...args);
  };
  return { count: () => writes };
}

/** Emits `n` events in one tick (as a group commit's settlement does); resolves with what the client got. */
async function burst(client: ClientSocket, socket: Socket, n: number): Promise<number[]> {
  const received: number[] = [];
  const all = new Promise<void>((resolve) => {
    client.on('room:event', (i: number) => {
      received.push(i);
      if (received.length === n) resolve();
    });
  });
  for (let i = 0; i < n; i++) socket.emit('room:event', i);
  await all;
  return received;
}

describe(coalesceFrameWrites.name, () => {
  const open: Array<{ server: Server; http: HttpServer; client: ClientSocket }> = [];
  afterEach(async () => {
    for (const { server, client } of open.splice(0)) {
      client.close();
      await server.close();
    }
  });

  it('writes the frames engine.io flushes together in one socket write, all delivered in order', async () => {
    const coalesced = await pair(true);
    open.push(coalesced);
    const writes = countTcpWrites(coalesced.socket);
    const received = await burst(coalesced.client, coalesced.socket, 20);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // The first frame goes out at once; the 19 buffered behind it go in one write.
    expect(writes.count()).toBeLessThanOrEqual(2);
  });

  it('is what makes the difference: without it each buffered frame is a write of its own', async () => {
    const plain = await pair(false);
    open.push(plain);
    const writes = countTcpWrites(plain.socket);
    const received = await burst(plain.client, plain.socket, 20);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(writes.count()).toBeGreaterThanOrEqual(20);
  });

  it('also coalesces for a client that began on long-polling and upgraded to WebSocket', async () => {
    const upgraded = await pair(true, ['polling', 'websocket']);
    open.push(upgraded);
    const { socket } = upgraded;
    if (socket.conn.transport.name !== 'websocket') await new Promise((resolve) => socket.conn.once('upgrade', resolve));
    const writes = countTcpWrites(socket);
    const received = await burst(upgraded.client, socket, 20);
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(writes.count()).toBeLessThanOrEqual(2);
  });

  it('leaves a single packet and acks as they were', async () => {
    const coalesced = await pair(true);
    open.push(coalesced);
    coalesced.socket.on('ping:me', (n: number, ack: (r: number) => void) => ack(n + 1));
    await expect(coalesced.client.timeout(5_000).emitWithAck('ping:me', 41)).resolves.toBe(42);
    const writes = countTcpWrites(coalesced.socket);
    expect(await burst(coalesced.client, coalesced.socket, 1)).toEqual([0]);
    expect(writes.count()).toBe(1);
  });
});
