/**
 * The static scheduler (STATIC_GATEWAYS): a fixed gateway list, no Redis-based placement. The
 * API and every gateway derive each room's owner by rendezvous hashing; a gateway refuses rooms
 * that hash elsewhere.
 */
import jwt from 'jsonwebtoken';
import { rendezvousOwner } from '../libs/routing/src';
import { ApiClient, openSocket, RoomMember } from './support/client';
import { baseEnv, freePort, ManagedProcess, waitFor } from './support/processes';

jest.setTimeout(60_000);

describe('static scheduler (e2e)', () => {
  const procs: ManagedProcess[] = [];
  let api: ApiClient;
  let gateways: Array<{ id: string; url: string }>;

  beforeAll(async () => {
    const [apiPort, p1, p2] = [await freePort(), await freePort(), await freePort()];
    gateways = [
      { id: 'static-gw-1', url: `http://127.0.0.1:${p1}` },
      { id: 'static-gw-2', url: `http://127.0.0.1:${p2}` },
    ];
    const list = gateways.map((g) => `${g.id}=${g.url}`).join(',');
    const env = baseEnv({ STATIC_GATEWAYS: list, RATE_LIMIT_MSG_PER_SEC: '0' });
    procs.push(ManagedProcess.start('static-api', 'dist/apps/api/src/main.js', { ...env, PORT: String(apiPort) }));
    gateways.forEach((g, i) =>
      procs.push(
        ManagedProcess.start(g.id, 'dist/apps/gateway/src/main.js', {
          ...env,
          PORT: String([p1, p2][i]),
          GATEWAY_ID: g.id,
          GATEWAY_PUBLIC_URL: g.url,
        }),
      ),
    );
    api = new ApiClient(`http://127.0.0.1:${apiPort}`);
    for (const url of [api.baseUrl, ...gateways.map((g) => g.url)]) {
      await waitFor(`${url} to answer`, async () => (await fetch(`${url}/health/live`)).ok);
    }
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it('places rooms by rendezvous hashing over the fixed list, serves them there and refuses them elsewhere', async () => {
    const user = await api.register('static');
    const seen = new Set<string>();
    // Room ids are random, so 8 rooms all hash to one of 2 gateways once in 128 runs: go on
    // (up to 40 rooms, a chance of 2^-39) until both gateways own one.
    for (let i = 0; i < 8 || (seen.size < 2 && i < 40); i++) {
      const room = await api.createRoom(user.token, `static ${i}`);
      const info = await api.connection(user.token, room.id);
      expect(info.gatewayId).toBe(rendezvousOwner(room.id, gateways.map((g) => g.id)));
      expect(info.url).toBe(gateways.find((g) => g.id === info.gatewayId)!.url);
      seen.add(info.gatewayId);
      if (i === 0) {
        const member = await RoomMember.enter(api, user, room.id);
        const ack = await member.send('static-1', 'hello');
        expect(ack.ok && ack.seq).toBe(2);
        member.close();
        // The other gateway does not serve this room: the owner's ticket is not valid there, and
        // a (validly signed) ticket naming the other gateway is refused because the room hashes
        // to the owner.
        const other = gateways.find((g) => g.id !== info.gatewayId)!;
        await expect(openSocket(other.url, info.ticket)).rejects.toThrow('unauthorized');
        const claims = { typ: 'ticket', sub: user.user.id, usr: user.user.username, role: 'user', room: room.id, gw: other.id };
        const ticketForOther = jwt.sign(claims, baseEnv().JWT_SECRET!, { algorithm: 'HS256', expiresIn: 60 });
        await expect(openSocket(other.url, ticketForOther)).rejects.toThrow('room_moved');
      }
    }
    expect(seen.size).toBe(2);
  });
});
