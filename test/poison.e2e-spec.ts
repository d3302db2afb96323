/**
 * Issue 7, acceptance 1: hostile input stops at the edge, and one user's input never fails
 * another's (DESIGN.md invariants 7 and 9). Real API and gateway processes, real Postgres:
 * 10 rooms × 2 members send continuously while a hostile user sends U+0000, lone surrogates,
 * oversized and malformed payloads, over the socket (into its own room and into a loaded one) and
 * over HTTP. Every hostile request is refused as `invalid` (404 for an id), every other send is
 * acknowledged, and each room's log in Postgres is exactly its acknowledged messages.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { launchChromium, openPerson, scriptErrors, signUp } from './support/browser';
import { ApiClient, openSocket, RoomMember, type ChatSocket } from './support/client';
import { reportFigure } from './support/figures';
import { baseEnv, waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(180_000);


const ROOMS = 10;
const LOAD_MS = 4_000;
/** Sends each loaded member keeps in flight, so group commits carry many rooms at once. */
const WINDOW = 4;

/**
 * Socket payloads the contract calls `invalid`. The lone surrogates survive the trip: socket.io's
 * JSON.stringify escapes them as `\ud800`, and the gateway's JSON.parse restores them.
 */
const hostileSends: Array<[string, unknown]> = [
  ['U+0000 in text', { clientMsgId: 'h', text: 'null \u0000 byte' }],
  ['a lone high surrogate in text', { clientMsgId: 'h', text: 'lone \ud800 high' }],
  ['a lone low surrogate in text', { clientMsgId: 'h', text: '\udc00 lone low' }],
  ['U+0000 in clientMsgId', { clientMsgId: 'id\u0000', text: 'looks fine' }],
  ['a lone surrogate in clientMsgId', { clientMsgId: 'id\ud800', text: 'looks fine' }],
  ['too-long text (60,000 chars, under the packet cap)', { clientMsgId: 'h', text: 'x'.repeat(60_000) }],
  ['too-long clientMsgId', { clientMsgId: 'c'.repeat(10_000), text: 'hi' }],
  ['empty text', { clientMsgId: 'h', text: '' }],
  ['a string payload', 'just a string'],
  ['a number payload', 42],
  ['a null payload', null],
  ['an array payload', [{ clientMsgId: 'h', text: 'hi' }]],
  ['a number for text', { clientMsgId: 'h', text: 12 }],
  ['an object for clientMsgId', { clientMsgId: { $ne: null }, text: 'hi' }],
  ['an unknown field', { clientMsgId: 'h', text: 'hi', author: 'someone else' }],
  ['no text', { clientMsgId: 'h' }],
];

/** Other commands with a poisoned or malformed payload (seq 1 is room.created: only parsing decides). */
const hostileCommands: Array<[string, 'message:edit' | 'message:delete' | 'room:join', unknown]> = [
  ['an edit with U+0000', 'message:edit', { seq: 1, text: 'edit \u0000' }],
  ['an edit with a lone surrogate', 'message:edit', { seq: 1, text: 'edit \ud800' }],
  ['a delete with a string seq', 'message:delete', { seq: '1' }],
  ['a join with a string afterSeq', 'room:join', { afterSeq: '\u0000' }],
];

interface Sent {
  clientMsgId: string;
  text: string;
  actorId: string;
  seq: number;
}

describe('hostile input under load (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let pool: Pool;
  const sockets: ChatSocket[] = [];
  const members: RoomMember[] = [];

  beforeAll(async () => {
    // The gateways reach Postgres through a proxy the web client test cuts, for `unavailable`.
    stack = await TestStack.start({ name: 'poison', gateways: 2, pgProxy: true, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
    pool = new Pool({ connectionString: baseEnv().DATABASE_URL, max: 2 });
  });

  afterAll(async () => {
    stack?.pgProxy?.restore();
    for (const m of members) m.close();
    for (const s of sockets) s.close();
    await pool?.end();
    await stack?.stop();
  });

  async function logOf(roomId: string): Promise<Array<{ seq: number; type: string; client_msg_id: string | null; actor_id: string | null; text: string | null }>> {
    const { rows } = await pool.query(
      `SELECT seq, type, client_msg_id, actor_id, data->>'text' AS text FROM room_events WHERE room_id = $1 ORDER BY seq`,
      [roomId],
    );
    return rows;
  }

  /** Raw HTTP, for bodies `ApiClient` cannot express (bytes that are not UTF-8). */
  async function rawPost(path: string, body: Buffer, token?: string): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${stack.apiUrl}${path}`, { method: 'POST', headers, body });
    return { status: res.status, body: await res.json() };
  }

  it('refuses every hostile request as invalid while every other send of 10 busy rooms commits, exactly once, gap-free', async () => {
    // ---- the loaded rooms and the hostile user --------------------------------------------
    const users = await Promise.all(Array.from({ length: ROOMS * 2 }, (_, i) => api.register(`load${i}`)));
    const rooms: Array<{ id: string; members: RoomMember[] }> = [];
    for (let r = 0; r < ROOMS; r++) {
      const [a, b] = [users[2 * r]!, users[2 * r + 1]!];
      const room = await api.createRoom(a.token, `loaded ${r}`);
      const joined = [await RoomMember.enter(api, a, room.id), await RoomMember.enter(api, b, room.id)];
      members.push(...joined);
      rooms.push({ id: room.id, members: joined });
    }
    const mallory = await api.register('mallory');
    const ownRoom = await api.createRoom(mallory.token, 'mallory’s room');
    const intoOwn = await RoomMember.enter(api, mallory, ownRoom.id);
    const intoLoaded = await RoomMember.enter(api, mallory, rooms[0]!.id);
    members.push(intoOwn, intoLoaded);
    const admin = { username: `admin_${randomBytes(4).toString('hex')}`, password: 'correct-horse-battery' };
    await stack.createAdmin(admin.username, admin.password);
    const adminToken = (await api.login(admin.username, admin.password)).token;

    // ---- load: every member keeps WINDOW sends in flight until the deadline ---------------
    const acked = new Map<string, Sent[]>(rooms.map((r) => [r.id, []]));
    const failures: string[] = [];
    const deadline = Date.now() + LOAD_MS;
    const load = rooms.flatMap((room) =>
      room.members.flatMap((member) =>
        Array.from({ length: WINDOW }, async (_, lane) => {
          for (let n = 0; Date.now() < deadline; n++) {
            const clientMsgId = `${member.user.user.username}-${lane}-${n}`;
            const text = `msg ${n} on lane ${lane} ✓ 😀`;
            const ack = await member.send(clientMsgId, text).catch((err: Error) => ({ ok: false as const, error: { code: 'no_ack', message: err.message } }));
            if (ack.ok) acked.get(room.id)!.push({ clientMsgId, text, actorId: member.user.user.id, seq: ack.seq });
            else failures.push(`${clientMsgId}: ${JSON.stringify(ack.error)}`);
          }
        }),
      ),
    );

    // ---- meanwhile, the hostile user on the socket ------------------------------------------
    const hostileAcks: Array<{ what: string; ack: any }> = [];
    const hostileSocket = (async () => {
      for (let round = 0; Date.now() < deadline; round++) {
        const target = round % 2 === 0 ? intoLoaded : intoOwn;
        const where = target === intoLoaded ? 'loaded room' : 'own room';
        for (const [what, payload] of hostileSends) {
          const ack = await target.socket.timeout(20_000).emitWithAck('message:send', payload as never).catch((err: Error) => ({ timeout: err.message }));
          hostileAcks.push({ what: `${what} (${where})`, ack });
        }
        for (const [what, event, payload] of hostileCommands) {
          const ack = await target.socket.timeout(20_000).emitWithAck(event, payload as never).catch((err: Error) => ({ timeout: err.message }));
          hostileAcks.push({ what: `${what} (${where})`, ack });
        }
      }
    })();

    // ---- meanwhile, the hostile user over HTTP ----------------------------------------------
    const password = 'correct-horse-battery';
    const httpCases: Array<{ what: string; run: () => Promise<{ status: number; body: any }>; status: number; code: string }> = [
      { what: 'register: U+0000 in username', run: () => api.request('POST', '/auth/register', { body: { username: 'evil\u0000name', password } }), status: 400, code: 'invalid' },
      { what: 'register: lone surrogate in username', run: () => api.request('POST', '/auth/register', { body: { username: 'evil\ud800', password } }), status: 400, code: 'invalid' },
      { what: 'register: U+0000 in password', run: () => api.request('POST', '/auth/register', { body: { username: `ok_${randomBytes(4).toString('hex')}`, password: 'pass\u0000word' } }), status: 400, code: 'invalid' },
      { what: 'register: lone surrogate in password', run: () => api.request('POST', '/auth/register', { body: { username: `ok_${randomBytes(4).toString('hex')}`, password: 'pass\udfffword' } }), status: 400, code: 'invalid' },
      { what: 'login: U+0000 in username', run: () => api.request('POST', '/auth/login', { body: { username: `${mallory.user.username}\u0000`, password } }), status: 400, code: 'invalid' },
      { what: 'login: lone surrogate in username', run: () => api.request('POST', '/auth/login', { body: { username: '\ud800', password } }), status: 400, code: 'invalid' },
      { what: 'login: U+0000 in password', run: () => api.request('POST', '/auth/login', { body: { username: mallory.user.username, password: `${password}\u0000` } }), status: 400, code: 'invalid' },
      { what: 'login: lone surrogate in password', run: () => api.request('POST', '/auth/login', { body: { username: mallory.user.username, password: `${password}\ud800` } }), status: 400, code: 'invalid' },
      { what: 'room name with U+0000', run: () => api.request('POST', '/rooms', { body: { name: 'evil \u0000 room' }, token: mallory.token }), status: 400, code: 'invalid' },
      { what: 'room name with a lone surrogate', run: () => api.request('POST', '/rooms', { body: { name: 'evil \ud800 room' }, token: mallory.token }), status: 400, code: 'invalid' },
      { what: 'room name in bytes that are not UTF-8', run: () => rawPost('/rooms', Buffer.from([...Buffer.from('{"name":"a'), 0xff, 0xfe, ...Buffer.from('"}')]), mallory.token), status: 400, code: 'invalid' },
      { what: 'GET a room id with U+0000', run: () => api.request('GET', `/rooms/${rooms[0]!.id}%00`, { token: mallory.token }), status: 404, code: 'not_found' },
      { what: 'history of a room id with U+0000', run: () => api.request('GET', '/rooms/%00/events', { token: mallory.token }), status: 404, code: 'not_found' },
      { what: 'connection to a room id with U+0000', run: () => api.request('POST', '/rooms/abc%00def/connection', { token: mallory.token }), status: 404, code: 'not_found' },
      { what: 'a room id that does not decode (a lone surrogate in UTF-8)', run: () => api.request('GET', '/rooms/%ED%A0%80', { token: mallory.token }), status: 404, code: 'not_found' },
      { what: 'history after U+0000', run: () => api.request('GET', `/rooms/${rooms[0]!.id}/events?after=%00`, { token: mallory.token }), status: 400, code: 'invalid' },
      { what: 'admin: room id with U+0000', run: () => api.request('GET', '/admin/rooms/%00', { token: adminToken }), status: 404, code: 'not_found' },
      { what: 'admin: export of a room id with U+0000', run: () => api.request('POST', '/admin/rooms/%00/exports', { body: { format: 'ndjson' }, token: adminToken }), status: 404, code: 'not_found' },
      { what: 'admin: export id with U+0000', run: () => api.request('GET', '/admin/exports/%00', { token: adminToken }), status: 404, code: 'not_found' },
      { what: 'admin: download of an export id that does not decode', run: () => api.request('GET', '/admin/exports/%ED%A0%80/download', { token: adminToken }), status: 404, code: 'not_found' },
      { what: 'admin: drain of a gateway id with U+0000', run: () => api.request('POST', '/admin/gateways/gw%00/drain', { token: adminToken }), status: 404, code: 'not_found' },
    ];
    const httpResults: Array<{ what: string; status: number; code: string; expected: string }> = [];
    const hostileHttp = (async () => {
      do {
        for (const c of httpCases) {
          const res = await c.run();
          httpResults.push({ what: c.what, status: res.status, code: res.body?.error?.code, expected: `${c.status} ${c.code}` });
        }
      } while (Date.now() < deadline);
    })();

    // ---- a packet beyond the gateway's 64 KiB cap closes that socket, and only that one ------
    const info = await api.connection(mallory.token, rooms[1]!.id);
    const oversized = await openSocket(info.url, info.ticket);
    sockets.push(oversized);
    const closed = new Promise<string>((resolve) => oversized.once('disconnect', (reason) => resolve(reason)));
    let answered: unknown;
    oversized.emit('message:send', { clientMsgId: 'big', text: 'x'.repeat(100_000) }, (ack) => {
      answered = ack;
    });

    await Promise.all([...load, hostileSocket, hostileHttp]);
    expect(await closed).toBe('transport close');
    expect(answered).toBeUndefined();

    // ---- every hostile request was refused as the contract says ------------------------------
    expect(hostileAcks.length).toBeGreaterThanOrEqual(hostileSends.length + hostileCommands.length);
    const notInvalid = hostileAcks.filter(({ ack }) => !(ack && ack.ok === false && ack.error?.code === 'invalid'));
    expect(notInvalid).toEqual([]);
    // The poisoned strings reached the gateway as sent (not as U+FFFD) and were refused for it.
    for (const { what, ack } of hostileAcks.filter((h) => /U\+0000|surrogate/.test(h.what))) {
      expect([what, ack.error.message]).toEqual([what, expect.stringContaining('valid Unicode without U+0000')]);
    }
    const wrongStatus = httpResults.filter((r) => `${r.status} ${r.code}` !== r.expected);
    expect(wrongStatus).toEqual([]);
    expect(httpResults.length).toBeGreaterThanOrEqual(httpCases.length);

    // ---- every other send was acknowledged, and each log is exactly those sends -------------
    expect(failures).toEqual([]);
    let total = 0;
    for (const room of rooms) {
      const sent = acked.get(room.id)!.sort((x, y) => x.seq - y.seq);
      total += sent.length;
      const all = await logOf(room.id);
      // Each member who did not create the room logged one member.joined with their first join.
      const joins = all.filter((e) => e.type === 'member.joined');
      expect(joins.map((e) => e.actor_id).sort()).toEqual(
        [room.members[1]!.user.user.id, ...(room === rooms[0] ? [mallory.user.id] : [])].sort(),
      );
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: sent.length + 1 + joins.length }, (_, i) => i + 1));
      const log = all.filter((e) => e.type !== 'member.joined');
      expect(log[0]!.type).toBe('room.created');
      expect(log.slice(1).map((e) => ({ seq: e.seq, type: e.type, clientMsgId: e.client_msg_id, actorId: e.actor_id, text: e.text }))).toEqual(
        sent.map((s) => ({ seq: s.seq, type: 'message.posted', clientMsgId: s.clientMsgId, actorId: s.actorId, text: s.text })),
      );
    }
    expect(await logOf(ownRoom.id)).toEqual([expect.objectContaining({ seq: 1, type: 'room.created' })]);
    // Nothing of the hostile user's reached any log, and the gateways are still serving.
    // (Her first join of the loaded room logged her member.joined, as anyone's does.)
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM room_events WHERE actor_id = $1 AND type NOT IN ($2, $3)', [mallory.user.id, 'room.created', 'member.joined']);
    expect(rows[0].n).toBe(0);
    expect(total).toBeGreaterThan(ROOMS * 2 * WINDOW);
    const after = await rooms[0]!.members[0]!.send('after-the-storm', 'still here');
    expect(after).toMatchObject({ ok: true, seq: acked.get(rooms[0]!.id)!.length + 2 + 2 }); // + the joins of b and mallory
    await waitFor('the other member to see it', async () => rooms[0]!.members[1]!.events.some((e) => e.clientMsgId === 'after-the-storm'), 10_000);
    for (const gw of stack.gateways) expect(gw.proc.running).toBe(true);
    reportFigure('poison', 'sends acknowledged beside a hostile user', total, 'sends', {
      loadMs: LOAD_MS,
      rooms: ROOMS,
      hostileSocket: hostileAcks.length,
      hostileHttp: httpResults.length,
    });
  });

  it('web client: a refused send is final and shown; during a log outage a send stays pending, the page reconnects with backoff, and the message lands once when the log is back', async () => {
    const browser = await launchChromium();
    try {
      const person = await openPerson(browser, `${stack.apiUrl}/`);
      const { page } = person;
      // Every message:send frame the page writes (Socket.IO text frames: `42<ackId>["message:send",...]`).
      const sendFrames: number[] = [];
      page.on('websocket', (ws) => {
        ws.on('framesent', ({ payload }) => {
          if (typeof payload === 'string' && payload.includes('"message:send"')) sendFrames.push(Date.now());
        });
      });
      await signUp(page, `web_${randomBytes(4).toString('hex')}`);
      await page.fill('#room-name-input', 'web poison');
      await page.click('#create-room');
      await page.waitForSelector('#conn-status[data-state="connected"]');
      const roomId = (await page.textContent('#room-id'))!;
      const typeAndSend = async (text: string) => {
        // fill() would type it; setting the value keeps U+0000 exactly as given.
        await page.locator('#send-text').evaluate((input: { value: string }, value: string) => {
          input.value = value;
        }, text);
        await page.click('#send');
      };

      // `invalid` is final: the message leaves the outbox and the error is shown, no resend.
      await typeAndSend('bad \u0000 text');
      await page.waitForSelector('#error:not([hidden])');
      expect(await page.textContent('#error-text')).toMatch(/^invalid: .*must be valid Unicode/);
      await waitFor('the refused message to leave the outbox', async () => (await page.locator('#messages li.pending').count()) === 0, 5_000);
      expect(await page.evaluate('Object.keys(localStorage).filter((k) => k.includes("outbox") && localStorage.getItem(k) !== "[]").length')).toBe(0);
      await page.click('#error-close');

      // `unavailable` (the log is unreachable, for the API too): the message stays pending and
      // says it is not sent yet; the page shows it is reconnecting; the library asks the API
      // again with growing backoff and resends only over a new connection (no tight loop), and
      // once the log is back the message is written exactly once, without the user doing anything.
      stack.pgProxy!.cut();
      const cutAt = Date.now();
      await typeAndSend('sent while the log is down');
      const pending = page.locator('#messages li.pending.slow', { hasText: 'sent while the log is down' });
      await pending.waitFor({ timeout: 10_000 });
      expect(await pending.locator('.pending-note').textContent()).toBe('not sent yet, retrying…');
      await waitFor('the page to show it lost the room', async () => ['reconnecting', 'offline'].includes((await page.getAttribute('#conn-status', 'data-state')) ?? ''), 15_000);
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const attempts = sendFrames.filter((t) => t >= cutAt).length;
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(attempts).toBeLessThanOrEqual(10); // backoff (100 ms doubling to 5 s), not a loop
      expect(await page.locator('#messages li.msg[data-seq] .text', { hasText: 'sent while the log is down' }).count()).toBe(0);
      stack.pgProxy!.restore();
      await page.locator('#messages li.msg[data-seq] .text', { hasText: 'sent while the log is down' }).waitFor({ timeout: 30_000 });
      await waitFor('the outbox to empty', async () => (await page.locator('#messages li.pending').count()) === 0, 10_000);

      const log = await logOf(roomId);
      expect(log.map((e) => [e.seq, e.type, e.text])).toEqual([
        [1, 'room.created', null],
        [2, 'message.posted', 'sent while the log is down'],
      ]);
      expect(scriptErrors(person)).toEqual([]);
    } finally {
      stack.pgProxy?.restore();
      await browser.close();
    }
  });
});
