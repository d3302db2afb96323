import type { HttpApi } from './http-api.js';
import { MemoryOutboxStorage, Outbox } from './outbox.js';
import { RoomHandle, type OpenSocket } from './room-handle.js';
import type { WireSocket } from './wire.js';

/**
 * The membership commands of the room handle (leave, invite, role, remove, ban, unban, mute):
 * each goes out once as the contract's socket event with the contract's payload, and the ack
 * comes back as `{seq, ts}` (or `seq: null` when nothing changed) or as the server's error.
 * A scripted socket plays the gateway; the real one is exercised by test/web-client.e2e-spec.ts.
 */
describe('RoomHandle membership commands', () => {
  const sent: Array<{ event: string; payload: unknown }> = [];
  let answer: (event: string, payload: unknown) => unknown;

  function fakeSocket(): WireSocket {
    const socket = {
      on: () => socket,
      removeAllListeners: () => socket,
      disconnect: () => socket,
      timeout: () => ({
        emitWithAck: async (event: string, payload: unknown) => {
          if (event === 'room:join') {
            return { ok: true, room: { id: 'r1', name: 'Room', headSeq: 1 }, events: [{ roomId: 'r1', seq: 1, type: 'room.created', ts: '2026-01-01T00:00:00.000Z', actor: null, data: {} }], hasMore: false };
          }
          sent.push({ event, payload });
          return answer(event, payload);
        },
      }),
    };
    return socket as unknown as WireSocket;
  }

  async function joinedRoom(): Promise<RoomHandle> {
    const http = {
      connection: async () => ({ roomId: 'r1', gatewayId: 'gw-1', url: 'http://gw', ticket: 't', expiresAt: '' }),
      events: async () => ({ events: [], headSeq: 1 }),
    } as unknown as HttpApi;
    const openSocket: OpenSocket = async () => fakeSocket();
    const room = new RoomHandle('r1', http, openSocket, new Outbox(new MemoryOutboxStorage(), 'u:r1'), {
      ackTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      backoff: { baseMs: 10, maxMs: 20 },
      offlineAfterMs: 10_000,
      maxBufferedEvents: 100,
      catchUpPageSize: 500,
    });
    await room.join();
    return room;
  }

  beforeEach(() => {
    sent.length = 0;
    answer = () => ({ ok: true, seq: 7, ts: '2026-01-01T00:00:01.000Z' });
  });

  it('sends each command as the contract names it, with its payload, and resolves the commit', async () => {
    const room = await joinedRoom();
    await expect(room.invite('bob')).resolves.toEqual({ seq: 7, ts: '2026-01-01T00:00:01.000Z' });
    await room.setRole('u2', 'moderator');
    await room.mute('u2', 600);
    await room.remove('u2');
    await room.ban('u2', 'spam');
    await room.unban('u2');
    await room.leave();
    expect(sent).toEqual([
      { event: 'member:invite', payload: { username: 'bob' } },
      { event: 'member:role', payload: { userId: 'u2', role: 'moderator' } },
      { event: 'member:mute', payload: { userId: 'u2', seconds: 600 } },
      { event: 'member:remove', payload: { userId: 'u2' } },
      { event: 'member:ban', payload: { userId: 'u2', reason: 'spam' } },
      { event: 'member:unban', payload: { userId: 'u2' } },
      { event: 'room:leave', payload: {} },
    ]);
    room.close();
  });

  it('says seq null when the command changed nothing, and rejects with the server code otherwise', async () => {
    const room = await joinedRoom();
    answer = () => ({ ok: true, seq: null });
    await expect(room.invite('bob')).resolves.toEqual({ seq: null });
    answer = () => ({ ok: false, error: { code: 'forbidden', message: 'the owner cannot leave' } });
    await expect(room.leave()).rejects.toMatchObject({ code: 'forbidden', message: 'the owner cannot leave' });
    expect(room.state).toBe('connected'); // a refusal is not a lost connection
    room.close();
  });
});
