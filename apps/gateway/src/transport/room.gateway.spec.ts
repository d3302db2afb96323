import { EventEmitter } from 'node:events';
import 'reflect-metadata';
import type { Server } from 'socket.io';
import { RoomGateway } from './room.gateway';

/** @nestjs/websockets' MESSAGE_MAPPING_METADATA (its constants module is ESM-only for jest). */
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const COMMANDS = [
  'room:join',
  'message:send',
  'message:edit',
  'message:delete',
  'reaction:add',
  'reaction:remove',
  'typing',
  'read:mark',
  'room:leave',
  'member:invite',
  'member:role',
  'member:remove',
  'member:ban',
  'member:unban',
  'member:mute',
];

/** The gateway with stand-ins for what the edge reaches before a command gets to a room. */
function gatewayWithServer(registry: { get: (roomId: string) => unknown } = { get: () => undefined }) {
  const unused = {} as never;
  const gateway = new RoomGateway(
    { rateLimitMsgPerSec: 10, gatewayId: 'gw-test' } as never,
    unused,
    registry as never, // by default no room is served: commands that pass the edge get room_moved
    { attach: () => undefined } as never,
    unused,
    unused,
    { touch: () => undefined } as never,
    { observeAck: () => undefined } as never,
    unused,
  );
  const server = Object.assign(new EventEmitter(), { use: () => undefined }) as unknown as Server;
  gateway.afterInit(server);
  const connect = () => {
    const socket = Object.assign(new EventEmitter(), { data: { user: { id: 'u1', username: 'ann' }, roomId: 'r1', joined: true } });
    (server as unknown as EventEmitter).emit('connection', socket);
    return socket;
  };
  const socket = connect();
  const call = (event: string, ...args: unknown[]) =>
    new Promise<{ ok: boolean; error?: { code: string } }>((resolve) => {
      socket.emit(event, ...args, resolve);
    });
  return { gateway, socket, connect, call };
}

describe(RoomGateway.name, () => {
  it('binds no command through a Nest message handler: each one costs a socket about 5 KiB of rxjs (BENCHMARKS.md)', () => {
    const proto = RoomGateway.prototype as unknown as Record<string, unknown>;
    const mapped = Object.getOwnPropertyNames(proto).filter((name) => {
      const member = proto[name];
      return typeof member === 'function' && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, member) !== undefined;
    });
    expect(mapped).toEqual([]);
  });

  it('listens to every command of the contract and to the disconnect on each socket, with listener functions shared by all sockets', () => {
    const { socket, connect } = gatewayWithServer();
    expect(socket.eventNames().sort()).toEqual([...COMMANDS, 'disconnect'].sort());
    for (const event of COMMANDS) expect([event, socket.listenerCount(event)]).toEqual([event, 1]);
    // A second socket gets the very same functions: no closure per socket and command.
    const other = connect();
    for (const event of [...COMMANDS, 'disconnect']) expect([event, other.listeners(event)[0] === socket.listeners(event)[0]]).toEqual([event, true]);
  });

  it('answers through the acknowledgement as Nest did: invalid payloads, several payload arguments, and a command without payload', async () => {
    const { call } = gatewayWithServer();
    expect(await call('message:send', 'not an object')).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(await call('message:send', { clientMsgId: 'c1', text: 'hi' }, { extra: true })).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(await call('member:mute', { userId: 'u2' })).toMatchObject({ ok: false, error: { code: 'invalid' } });
    // Past the edge: the room is not served here, so the client is told to ask the API again.
    expect(await call('message:send', { clientMsgId: 'c1', text: 'hi' })).toMatchObject({ ok: false, error: { code: 'room_moved' } });
    expect(await call('room:join')).toMatchObject({ ok: false, error: { code: 'room_moved' } });
  });

  it('rate-limits joins per user and room: a burst of 10, then rate_limited', async () => {
    const { call } = gatewayWithServer();
    for (let i = 0; i < 10; i++) expect(await call('room:join', {})).toMatchObject({ ok: false, error: { code: 'room_moved' } });
    expect(await call('room:join', {})).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
  });

  it('lets one join of a socket be in flight at a time', async () => {
    let finish: () => void = () => undefined;
    const actor = {
      roomId: 'r1',
      join: (_user: unknown, _afterSeq: unknown, subscribe: () => void) =>
        new Promise((resolve) => {
          finish = () => {
            subscribe();
            resolve({ ok: true, room: { id: 'r1', name: 'r', headSeq: 0 }, events: [], hasMore: false });
          };
        }),
    };
    const { call, socket } = gatewayWithServer({ get: () => actor });
    Object.assign(socket, { disconnected: false, join: () => undefined });
    const first = call('room:join', {});
    await new Promise((resolve) => setImmediate(resolve));
    expect(await call('room:join', {})).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    finish();
    expect(await first).toMatchObject({ ok: true });
    // Answered: the socket may join again (a client rejoining after `room:moved` does).
    const again = call('room:join', {});
    await new Promise((resolve) => setImmediate(resolve));
    finish();
    expect(await again).toMatchObject({ ok: true });
  });
});
