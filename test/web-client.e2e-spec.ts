/**
 * The web app served by the API (apps/web, bundled into dist/web) in real headless Chromium
 * against the real stack started from dist/ (two gateways), plus the serving rules of the page
 * and GET /metrics. Browser tests are named after the acceptance points they prove.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPerson, screenshot, scriptErrors, seriousA11yViolations, signUp, type PersonPage } from './support/browser';
import { ApiClient, RoomMember, type TestUser } from './support/client';
import { waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(240_000);

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const suffix = () => Math.random().toString(36).slice(2, 8);

/** The signed-in user of a page, as its session stored it (token for ApiClient calls). */
async function sessionOf(page: Page): Promise<TestUser> {
  const [token, user] = (await page.evaluate(`[localStorage.getItem('durable-rooms.token'), localStorage.getItem('durable-rooms.user')]`)) as [string, string];
  return { token, user: JSON.parse(user) };
}

/** Rows of the message list: `[seq, text]` of every acknowledged row, in page order. */
async function seqsOf(page: Page): Promise<number[]> {
  return page.locator('#messages li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
}

const messageText = (page: Page, text: string) => page.locator('#messages li.msg[data-seq] .text', { hasText: text });

/** Every page's collected errors, to explain a failed wait. */
const errorsOf = new Map<Page, string[]>();

async function waitConnected(page: Page, timeout = 30_000): Promise<string> {
  try {
    await page.waitForSelector('#conn-status[data-state="connected"]', { timeout });
  } catch (err) {
    const seen = await page.evaluate(`[location.pathname, document.getElementById('conn-status')?.textContent, document.getElementById('error-text')?.textContent]`).catch(() => []);
    throw new Error(`${(err as Error).message}\npage: ${JSON.stringify(seen)}\npage errors: ${(errorsOf.get(page) ?? []).join('\n')}`);
  }
  return ((await page.textContent('#conn-status')) ?? '').replace(/^connected to /, '');
}

/**
 * Records every `data-state` #conn-status takes (a `moving` may last a few milliseconds, too
 * short to be caught by polling). Survives the view being remounted, not a reload.
 */
async function recordStates(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    window.__states = [];
    const note = () => {
      const s = document.getElementById('conn-status')?.dataset.state;
      if (s && window.__states[window.__states.length - 1] !== s) window.__states.push(s);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
    note();
  })()`);
}
const statesOf = (page: Page) => page.evaluate('window.__states') as Promise<string[]>;

describe('web client and /metrics (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let browser: Browser;
  let people: PersonPage[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'web', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  afterEach(async () => {
    for (const person of people) await person.page.context().close().catch(() => undefined);
    people = [];
  });

  /** A person who signed up in the page (own browser context, own localStorage). */
  async function person(name: string): Promise<PersonPage & { username: string }> {
    const p = await openPerson(browser, `${stack.apiUrl}/`);
    people.push(p);
    errorsOf.set(p.page, p.errors);
    const username = `${name}_${suffix()}`;
    await signUp(p.page, username);
    return { ...p, username };
  }

  /** A room made through the lobby's form (#room-name-input, #room-private, #create-room); the page lands in it. */
  async function createRoom(page: Page, name: string, visibility: 'public' | 'private' = 'public'): Promise<string> {
    await page.waitForSelector('#lobby-view');
    await page.fill('#room-name-input', name);
    if (visibility === 'private') await page.check('#room-private');
    await page.click('#create-room');
    await page.waitForURL(/\/r\/[^/]+$/);
    await waitConnected(page);
    const roomId = (await page.textContent('#room-id'))!;
    expect(new URL(page.url()).pathname).toBe(`/r/${roomId}`);
    return roomId;
  }

  /** Sends through the composer (Enter) and waits for the acknowledged row on the sender's page. */
  async function send(page: Page, text: string): Promise<number> {
    await page.fill('#send-text', text);
    await page.press('#send-text', 'Enter');
    const row = page.locator('#messages li.msg[data-seq]', { has: page.locator('.text', { hasText: text }) });
    await row.waitFor();
    return Number(await row.getAttribute('data-seq'));
  }

  const assertNoScriptErrors = (...ps: PersonPage[]) => {
    for (const p of ps) expect(scriptErrors(p)).toEqual([]);
  };

  it('serves /, /admin and /r/<id> as the page, /app.js (+ map) and /app.css, with script-src self alone, and never shadows the API', async () => {
    const page = await fetch(`${stack.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    const html = await page.text();
    expect(html).toContain('<script src="/app.js" defer></script>');
    for (const path of ['/admin', '/r/some-room-id']) {
      const res = await fetch(`${stack.apiUrl}${path}`);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get('content-security-policy')).toBe(csp);
      expect(await res.text()).toBe(html);
    }

    const js = await fetch(`${stack.apiUrl}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(csp);
    const source = await js.text();
    expect(source).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(source).toContain('room-view'); // the room view is in the bundle
    const map = await fetch(`${stack.apiUrl}/app.js.map`);
    expect(map.status).toBe(200);
    expect(JSON.parse(await map.text()).sources.some((s: string) => s.endsWith('chat/room-view.ts'))).toBe(true);
    const css = await fetch(`${stack.apiUrl}/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);

    // Nothing else of the folder is served, and the API's own routes and errors are untouched.
    for (const path of ['/index.html', '/web/app.js', '/app.js/', '/../package.json', '/r/', '/r/a/b']) {
      const res = await api.request('GET', path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    }
    expect((await api.request('POST', '/')).status).toBe(404);
    expect((await api.request('GET', '/health/live')).body).toEqual({ status: 'ok' });
    expect((await api.request('GET', '/rooms/x')).status).toBe(401);
  });

  it('answers GET /metrics in Prometheus text on the API and on every gateway after a message was sent', async () => {
    const user = await api.register('metrics');
    const room = await api.createRoom(user.token, 'metrics room');
    const info = await api.connection(user.token, room.id);
    const member = await RoomMember.enter(api, user, room.id);
    try {
      const ack = await member.send('metrics-1', 'counted');
      expect(ack.ok).toBe(true);

      const apiRes = await fetch(`${stack.apiUrl}/metrics`);
      expect(apiRes.status).toBe(200);
      expect(apiRes.headers.get('content-type')).toMatch(/^text\/plain/);
      const apiText = await apiRes.text();
      expect(apiText).toContain('# TYPE http_requests_total counter');
      expect(apiText).toContain('# TYPE http_request_duration_seconds histogram');
      expect(apiText).toContain('process_cpu_user_seconds_total');
      expect(apiText).toContain('nodejs_eventloop_lag_seconds');
      expect(sample(apiText, 'http_requests_total{method="POST",route="/rooms/:roomId/connection",status="200",app="api"}')).toBeGreaterThanOrEqual(2);
      expect(sample(apiText, 'http_requests_total{method="POST",route="/auth/register",status="201",app="api"}')).toBeGreaterThanOrEqual(1);
      expect(apiText).toMatch(/^http_request_duration_seconds_bucket\{le="\+Inf",[^}]*method="POST",route="\/rooms",status="201"[^}]*\} [1-9]\d*$/m);
      // Raw paths (room ids) never become label values.
      expect(apiText).not.toContain(room.id);

      const owner = stack.gateways.find((g) => g.id === info.gatewayId)!;
      const gwText = await waitFor('the gateway to count the commit', async () => {
        const res = await fetch(`${owner.url}/metrics`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
        const text = await res.text();
        return (sample(text, `gateway_commit_events_total{app="gateway",gateway="${owner.id}"}`) ?? 0) >= 1 ? text : undefined;
      });
      const labels = `app="gateway",gateway="${owner.id}"`;
      expect(sample(gwText, `gateway_commit_batches_total{${labels}}`)).toBeGreaterThanOrEqual(1);
      expect(sample(gwText, `gateway_commit_duration_seconds_count{${labels}}`)).toBeGreaterThanOrEqual(1);
      expect(sample(gwText, `gateway_rooms_loaded{${labels}}`)).toBeGreaterThanOrEqual(1);
      expect(sample(gwText, `gateway_connected_sockets{${labels}}`)).toBeGreaterThanOrEqual(1);
      for (const name of ['saved', 'failed', 'stale']) expect(sample(gwText, `gateway_snapshots_${name}_total{${labels}}`)).toBeGreaterThanOrEqual(0);
      expect(sample(gwText, `gateway_drain_state{state="active",${labels}}`)).toBe(1);
      expect(sample(gwText, `gateway_drain_state{state="draining",${labels}}`)).toBe(0);
      expect(sample(gwText, `gateway_drain_rooms_handed_over{${labels}}`)).toBe(0);
      expect(gwText).toContain('process_resident_memory_bytes');

      for (const gw of stack.gateways) {
        const res = await fetch(`${gw.url}/metrics`);
        expect([gw.id, res.status]).toEqual([gw.id, 200]);
        expect(await res.text()).toContain(`gateway_rooms_loaded{app="gateway",gateway="${gw.id}"}`);
      }
    } finally {
      member.close();
    }
  });

  it('Acceptance 3: two people chat through a shared link, messages arrive within 1 s, a reload keeps the history, scrolling up pages 500 messages back to seq 1', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    try {
      const roomId = await createRoom(alice.page, 'Acceptance <b>three</b>');
      expect(await alice.page.textContent('#room-name')).toBe('Acceptance <b>three</b>');
      expect(await alice.page.textContent('#room-id')).toBe(roomId);
      const shareLink = (await alice.page.getAttribute('#share-link', 'href'))!;
      expect(shareLink).toBe(`${stack.apiUrl}/r/${roomId}`);
      await bob.page.goto(shareLink);
      const gatewayId = await waitConnected(bob.page);
      expect(stack.gateways.map((g) => g.id)).toContain(gatewayId);
      await alice.page.locator('#presence li', { hasText: bob.username }).waitFor();

      // Each message appears on the other page within 1 s of the sender's acknowledgement.
      const latencies: number[] = [];
      const exchange = async (from: Page, to: Page, text: string) => {
        const seen = messageText(to, text).waitFor({ timeout: 10_000 }).then(() => Date.now());
        await send(from, text);
        const ackedAt = Date.now();
        const seenAt = await seen;
        latencies.push(seenAt - ackedAt);
        expect(seenAt).toBeLessThanOrEqual(ackedAt + 1000);
      };
      const hostile = '<img src=x onerror="window.__xss=1">hello & <b>bold</b>';
      await exchange(alice.page, bob.page, hostile);
      await exchange(bob.page, alice.page, 'hi alice');
      await exchange(alice.page, bob.page, 'how are you?');
      console.log(`acceptance 3: delivery after the sender's ack, ms: ${latencies.join(', ')}`);
      // Plain text, never markup; author and time on each row.
      expect(await messageText(bob.page, 'hello &').textContent()).toBe(hostile);
      expect(await bob.page.locator('#messages img, #messages b').count()).toBe(0);
      const row = bob.page.locator('#messages li.msg', { hasText: 'hi alice' });
      expect(await row.locator('.author').textContent()).toBe(bob.username);
      expect(await row.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(await row.getAttribute('class')).toContain('own');

      // A reload keeps the history, each event once and in seq order.
      const before = await seqsOf(bob.page);
      await bob.page.reload();
      await waitConnected(bob.page);
      await messageText(bob.page, 'how are you?').waitFor();
      expect(await seqsOf(bob.page)).toEqual(before);
      expect(before).toEqual([...new Set(before)].sort((a, b) => a - b));
      expect(await bob.page.evaluate('window.__xss')).toBeUndefined();

      // 500 messages: scrolling to the top pages older ones in until room.created (seq 1).
      const session = await sessionOf(alice.page);
      const bigId = (await api.createRoom(session.token, 'five hundred')).id;
      const poster = await RoomMember.enter(api, session, bigId);
      let firstBulkSeq = 0;
      try {
        for (let i = 0; i < 499; i += 50) {
          const n = Math.min(50, 499 - i);
          const acks = await Promise.all(Array.from({ length: n }, (_, j) => poster.send(`bulk-${i + j}`, `bulk message ${i + j + 1}`)));
          expect(acks.every((a) => a.ok)).toBe(true);
          if (i === 0) firstBulkSeq = Math.min(...acks.map((a) => (a.ok ? a.seq : Infinity)));
        }
        // The 500th replies to the first one, far older than the first page the room view loads.
        const reply = await poster.socket.timeout(20_000).emitWithAck('message:send', { clientMsgId: 'bulk-reply', text: 'bulk message 500', replyTo: firstBulkSeq });
        expect(reply.ok).toBe(true);
      } finally {
        poster.close();
      }
      await alice.page.goto(`${stack.apiUrl}/r/${bigId}`);
      await waitConnected(alice.page);
      await messageText(alice.page, 'bulk message 500').waitFor();
      await alice.page.locator('#messages li.msg', { hasText: 'bulk message 500' }).locator('.reply-to', { hasText: `${alice.username}: bulk message 1` }).waitFor();
      const pane = alice.page.locator('#messages-pane');
      const initial = (await seqsOf(alice.page)).length;
      expect(initial).toBeLessThan(200); // the latest page, not everything
      // Keyboard users page with #load-older.
      await alice.page.focus('#load-older');
      await alice.page.keyboard.press('Enter');
      await waitFor('an older page by keyboard', async () => (await seqsOf(alice.page)).length > initial, 10_000);
      let pages = 0;
      while ((await alice.page.locator('#messages li[data-seq="1"]').count()) === 0) {
        const count = (await seqsOf(alice.page)).length;
        const firstSeq = (await seqsOf(alice.page))[0]!;
        await pane.hover();
        await alice.page.mouse.wheel(0, -100_000); // the user scrolls up to the top
        await waitFor('an older page', async () => (await seqsOf(alice.page)).length > count, 10_000);
        // The rows that were shown stay where the user looked: the pane did not jump to the top.
        const top = await pane.evaluate((el) => el.scrollTop);
        expect(top).toBeGreaterThan(0);
        expect(await alice.page.locator(`#messages li[data-seq="${firstSeq}"]`).count()).toBe(1);
        pages += 1;
        expect(pages).toBeLessThan(20);
      }
      const seqs = await seqsOf(alice.page);
      expect(seqs[0]).toBe(1);
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      expect(await alice.page.locator('#messages li.msg[data-seq]').count()).toBe(500);
      expect(await alice.page.locator('#messages li.system', { hasText: 'created the room' }).count()).toBe(1);
      await alice.page.waitForSelector('#load-older', { state: 'hidden' });
      assertNoScriptErrors(alice, bob);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });

  it('removes the pending row of a restored message that the server refuses for good', async () => {
    const alice = await person('orphan');
    const roomId = await createRoom(alice.page, 'orphan reply');
    await send(alice.page, 'the only message');
    const { user } = await sessionOf(alice.page);
    // An outbox entry left by an earlier page (a reload before its ack): a reply to a message
    // that does not exist, which the gateway refuses with not_found on every resend.
    const entry = { clientMsgId: `orphan-${suffix()}`, text: 'a reply to nothing', createdAt: Date.now(), replyTo: 999_999 };
    const key = `durable-rooms.outbox.${user.id}:${roomId}`;
    await alice.page.evaluate(`localStorage.setItem(${JSON.stringify(key)}, ${JSON.stringify(JSON.stringify([entry]))})`);
    await alice.page.reload();
    await waitConnected(alice.page);
    await alice.page.locator('#error', { hasText: 'not_found' }).waitFor({ timeout: 10_000 });
    await alice.page.waitForSelector('#messages li.pending', { state: 'detached', timeout: 10_000 });
    expect(await alice.page.evaluate(`localStorage.getItem(${JSON.stringify(key)})`)).toBeNull();
    assertNoScriptErrors(alice);
  });

  it('Acceptance 4: a killed and a drained gateway show reconnecting/moving then connected, messages typed meanwhile or just before a reload arrive exactly once', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    // Alice's sockets go through Playwright, which can lose her `message:send` frames on the way
    // (below: a message that certainly was not acknowledged when the page reloads).
    let loseSends = false;
    await alice.page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (loseSends && typeof message === 'string' && message.includes('"message:send"')) return;
        server.send(message);
      });
    });
    try {
      const roomId = await createRoom(alice.page, 'failover room');
      await bob.page.goto(`${stack.apiUrl}/r/${roomId}`);
      await waitConnected(bob.page);
      await send(alice.page, 'before the outage');
      await messageText(bob.page, 'before the outage').waitFor();
      const firstOwner = await waitConnected(alice.page);
      const otherGateway = stack.gateways.find((g) => g.id !== firstOwner)!.id;

      // 1. The owning gateway is killed.
      for (const p of [alice.page, bob.page]) await recordStates(p);
      await stack.killGateway(firstOwner);
      for (const p of [alice.page, bob.page]) await p.waitForSelector('#conn-status:not([data-state="connected"])');
      expect(await alice.page.textContent('#conn-status')).toMatch(/^(reconnecting|moving|connecting)…$|^offline$/);
      await alice.page.fill('#send-text', 'typed during the outage');
      await alice.page.press('#send-text', 'Enter');
      await alice.page.locator('#messages li.pending', { hasText: 'typed during the outage' }).waitFor();
      expect(await alice.page.locator('#messages li.pending').getAttribute('data-seq')).toBeNull();
      for (const p of [alice.page, bob.page]) {
        expect(await waitConnected(p, 60_000)).toBe(otherGateway);
        await messageText(p, 'typed during the outage').waitFor({ timeout: 30_000 });
      }
      await alice.page.waitForSelector('#messages li.pending', { state: 'detached' });
      for (const p of [alice.page, bob.page]) {
        expect(await messageText(p, 'typed during the outage').count()).toBe(1);
        const states = await statesOf(p);
        expect(states[0]).toBe('connected');
        expect(states.slice(1)).toEqual(expect.arrayContaining(['reconnecting']));
        expect(states[states.length - 1]).toBe('connected');
      }

      // 2. The gateway comes back and the room's new owner is drained through the admin API.
      await stack.startGateway(firstOwner);
      const adminName = `webadm_${suffix()}`;
      await stack.createAdmin(adminName, 'admin-password-123');
      const admin = await api.login(adminName, 'admin-password-123');
      await waitFor('the restarted gateway to be active', async () => {
        const res = await api.request('GET', '/admin/gateways', { token: admin.token });
        return res.body.gateways.some((g: { id: string; status: string }) => g.id === firstOwner && g.status === 'active');
      }, 30_000);
      for (const p of [alice.page, bob.page]) await recordStates(p);
      const drain = await api.request('POST', `/admin/gateways/${otherGateway}/drain`, { token: admin.token });
      expect(drain.status).toBe(202);
      await bob.page.fill('#send-text', 'typed during the drain');
      await bob.page.press('#send-text', 'Enter');
      for (const p of [alice.page, bob.page]) {
        await p.waitForSelector(`#conn-status[data-state="connected"]:text("connected to ${firstOwner}")`, { timeout: 60_000 });
        await messageText(p, 'typed during the drain').waitFor({ timeout: 30_000 });
        expect(await messageText(p, 'typed during the drain').count()).toBe(1);
        const states = await statesOf(p);
        expect(states).toEqual(expect.arrayContaining(['moving']));
        expect(states[states.length - 1]).toBe('connected');
      }

      // 3. Sent, then the page reloads at once (before the ack): the outbox in localStorage
      // sends it after the reload, once.
      await alice.page.evaluate(`(() => {
        document.getElementById('send-text').value = 'sent just before a reload';
        document.getElementById('send').click();
        location.reload();
      })()`);
      await waitConnected(alice.page);
      for (const p of [alice.page, bob.page]) await messageText(p, 'sent just before a reload').waitFor({ timeout: 30_000 });
      await alice.page.waitForSelector('#messages li.pending', { state: 'detached' });

      // The same with the send lost on the way, so certainly unacknowledged at the reload: the
      // page shows it pending after the reload (from localStorage) until the resend lands.
      loseSends = true;
      await alice.page.fill('#send-text', 'lost on the way, then reloaded');
      await alice.page.press('#send-text', 'Enter');
      await alice.page.locator('#messages li.pending', { hasText: 'lost on the way, then reloaded' }).waitFor();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await messageText(bob.page, 'lost on the way, then reloaded').count()).toBe(0);
      loseSends = false;
      await alice.page.reload();
      for (const p of [alice.page, bob.page]) await messageText(p, 'lost on the way, then reloaded').waitFor({ timeout: 30_000 });
      await alice.page.waitForSelector('#messages li.pending', { state: 'detached' });
      await new Promise((resolve) => setTimeout(resolve, 1000)); // a duplicate would have arrived by now
      for (const p of [alice.page, bob.page]) {
        for (const text of ['before the outage', 'typed during the outage', 'typed during the drain', 'sent just before a reload', 'lost on the way, then reloaded']) {
          expect([text, await messageText(p, text).count()]).toEqual([text, 1]);
        }
        const seqs = await seqsOf(p);
        expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
      }
      const events = await api.allEvents((await sessionOf(alice.page)).token, roomId);
      const texts = events.filter((e) => e.type === 'message.posted').map((e) => (e.data as { text: string }).text);
      expect(texts).toEqual(['before the outage', 'typed during the outage', 'typed during the drain', 'sent just before a reload', 'lost on the way, then reloaded']);
      assertNoScriptErrors(alice, bob);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });

  it('Members: a private room, an invitation by username, roles, moderator actions, a ban sends the member back to the rooms list', async () => {
    const owner = await person('olga');
    const guest = await person('bob');
    const memberRow = (page: Page, username: string) => page.locator('#members li.member', { hasText: username });
    try {
      const roomId = await createRoom(owner.page, 'private corner', 'private');
      await memberRow(owner.page, owner.username).locator('.role', { hasText: 'owner' }).waitFor();
      expect(await owner.page.isVisible('#invite-form')).toBe(true);

      // Not invited: refused, back to the rooms list with the server's error.
      await guest.page.goto(`${stack.apiUrl}/r/${roomId}`);
      await waitFor('bob to be refused', async () => /^forbidden: /.test((await guest.page.textContent('#error-text')) ?? ''), 15_000);
      await guest.page.waitForSelector('#lobby-view');
      await guest.page.click('#error-close');

      // Invited by username, he gets in; both see him in the members list.
      await owner.page.fill('#invite-username', guest.username);
      await owner.page.click('#invite');
      await owner.page.locator('#messages li.system', { hasText: `invited ${guest.username}` }).waitFor();
      await guest.page.goto(`${stack.apiUrl}/r/${roomId}`);
      await waitConnected(guest.page);
      await memberRow(guest.page, guest.username).locator('.role', { hasText: 'member' }).waitFor();
      await memberRow(owner.page, guest.username).waitFor();
      // A member sees no moderator actions and no invite form; the owner does.
      expect(await guest.page.locator('#members .member-action').count()).toBe(0);
      expect(await guest.page.isHidden('#invite-form')).toBe(true);
      expect(await memberRow(owner.page, owner.username).locator('.member-action').count()).toBe(0);

      // The owner may delete anyone's message; the member only his own.
      await send(owner.page, 'from the owner');
      await send(guest.page, 'from the guest');
      await messageText(owner.page, 'from the guest').waitFor();
      expect(await guest.page.locator('#messages li.msg', { hasText: 'from the owner' }).locator('.delete').count()).toBe(0);
      await owner.page.locator('#messages li.msg', { hasText: 'from the guest' }).locator('.delete').click();
      await guest.page.locator('#messages li.msg.deleted').waitFor();
      expect(await guest.page.locator('#messages li.msg.deleted .text').count()).toBe(0);

      // Moderator actions: promote, mute (shown), then ban (he is sent back to the rooms list).
      await memberRow(owner.page, guest.username).locator('button', { hasText: 'Make moderator' }).click();
      await memberRow(guest.page, guest.username).locator('.role', { hasText: 'moderator' }).waitFor();
      await guest.page.waitForSelector('#invite-form:not([hidden])'); // a moderator may invite
      await memberRow(owner.page, guest.username).locator('button', { hasText: 'Make member' }).waitFor();
      await memberRow(owner.page, guest.username).locator('button', { hasText: 'Mute 10 min' }).click();
      await memberRow(owner.page, guest.username).locator('.muted').waitFor();
      await guest.page.fill('#send-text', 'while muted');
      await guest.page.press('#send-text', 'Enter');
      await waitFor('the mute to be enforced', async () => /^forbidden: /.test((await guest.page.textContent('#error-text')) ?? ''), 10_000);
      await guest.page.click('#error-close');
      await memberRow(owner.page, guest.username).locator('button', { hasText: 'Unmute' }).click();
      await waitFor('the mute to be lifted', async () => (await memberRow(owner.page, guest.username).locator('.muted').count()) === 0, 10_000);
      await memberRow(owner.page, guest.username).locator('button', { hasText: 'Ban' }).click();
      await guest.page.waitForSelector('#lobby-view');
      expect(await guest.page.textContent('#error-text')).toMatch(/banned/);
      await waitFor("bob to leave the owner's list", async () => (await memberRow(owner.page, guest.username).count()) === 0, 10_000);
      await owner.page.locator('#messages li.system', { hasText: `banned ${guest.username}` }).waitFor();
      // And he cannot come back by the link.
      await guest.page.goto(`${stack.apiUrl}/r/${roomId}`);
      await waitFor('the banned user to be refused', async () => /^forbidden: /.test((await guest.page.textContent('#error-text')) ?? ''), 15_000);
      // The owner's rooms list shows the room with its visibility and role.
      await owner.page.click('#leave');
      await owner.page.locator('#my-rooms li', { hasText: 'private corner' }).locator('.role', { hasText: 'private · owner' }).waitFor();
      assertNoScriptErrors(owner, guest);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });

  it('Conversation features and acceptance 6: replies, reactions, typing, read markers; no serious a11y violations on the room view', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    try {
      const roomId = await createRoom(alice.page, 'conversation');
      await bob.page.goto(`${stack.apiUrl}/r/${roomId}`);
      await waitConnected(bob.page);
      const originalSeq = await send(alice.page, 'the original message');
      await messageText(bob.page, 'the original message').waitFor();

      // A reply: preview with cancel, then the quote on both pages.
      const original = (page: Page) => page.locator(`#messages li.msg[data-seq="${originalSeq}"]`);
      await original(bob.page).locator('.reply').click();
      await bob.page.waitForSelector('#reply-preview:not([hidden])');
      expect(await bob.page.textContent('#reply-preview')).toContain(alice.username);
      await bob.page.click('#reply-cancel');
      await bob.page.waitForSelector('#reply-preview', { state: 'hidden' });
      await original(bob.page).locator('.reply').click();
      await send(bob.page, 'a reply to it');
      for (const p of [alice.page, bob.page]) {
        const quote = p.locator('#messages li.msg', { has: p.locator('.text', { hasText: 'a reply to it' }) }).locator('.reply-to');
        await quote.waitFor();
        expect(await quote.textContent()).toBe(`${alice.username}: the original message`);
      }
      await bob.page.waitForSelector('#reply-preview', { state: 'hidden' });

      // A reaction: picked on bob's page, counted on both, pressed only on his; a click removes it.
      await original(bob.page).locator('.react').click();
      await original(bob.page).locator('.emoji-choice[data-emoji="👍"]').click();
      for (const p of [alice.page, bob.page]) await original(p).locator('button.reaction[data-emoji="👍"]', { hasText: '👍 1' }).waitFor();
      expect(await original(bob.page).locator('button.reaction[data-emoji="👍"]').getAttribute('aria-pressed')).toBe('true');
      expect(await original(alice.page).locator('button.reaction[data-emoji="👍"]').getAttribute('aria-pressed')).toBe('false');
      await original(alice.page).locator('button.reaction[data-emoji="👍"]').click(); // alice joins in
      for (const p of [alice.page, bob.page]) await original(p).locator('button.reaction[data-emoji="👍"]', { hasText: '👍 2' }).waitFor();
      await original(bob.page).locator('button.reaction[data-emoji="👍"]').click(); // bob takes his back
      for (const p of [alice.page, bob.page]) await original(p).locator('button.reaction[data-emoji="👍"]', { hasText: '👍 1' }).waitFor();
      expect(await original(bob.page).locator('button.reaction[data-emoji="👍"]').getAttribute('aria-pressed')).toBe('false');
      await original(alice.page).locator('button.reaction[data-emoji="👍"]').click();
      for (const p of [alice.page, bob.page]) await p.waitForSelector(`#messages li.msg[data-seq="${originalSeq}"] button.reaction`, { state: 'detached' });
      // By keyboard: the picker opens with the focus on its first choice; Escape closes it.
      await original(bob.page).locator('.react').focus();
      await bob.page.keyboard.press('Enter');
      await bob.page.waitForSelector('.emoji-choice:focus');
      await bob.page.keyboard.press('Escape');
      await original(bob.page).locator('.react:focus').waitFor();
      expect(await bob.page.locator('.emoji-picker').count()).toBe(0);
      await original(bob.page).locator('.react').click();
      await original(bob.page).locator('.emoji-choice[data-emoji="🎉"]').click();
      await original(alice.page).locator('button.reaction[data-emoji="🎉"]', { hasText: '🎉 1' }).waitFor();

      // Editing an own message updates the quote of its replies.
      await original(alice.page).locator('.edit').click();
      await alice.page.fill('#messages .edit-text', 'the original, edited');
      await alice.page.click('#messages .edit-save');
      await original(bob.page).locator('.edited').waitFor();
      await bob.page.locator('#messages .reply-to', { hasText: 'the original, edited' }).waitFor();

      // Replying to a message deleted meanwhile: the server's not_found is shown.
      const doomedSeq = await send(alice.page, 'soon deleted');
      await bob.page.locator(`#messages li.msg[data-seq="${doomedSeq}"] .reply`).click();
      await alice.page.locator(`#messages li.msg[data-seq="${doomedSeq}"] .delete`).click();
      await bob.page.locator(`#messages li.msg.deleted[data-seq="${doomedSeq}"]`).waitFor();
      await bob.page.fill('#send-text', 'too late');
      await bob.page.press('#send-text', 'Enter');
      await waitFor('the not_found error', async () => /^not_found: /.test((await bob.page.textContent('#error-text')) ?? ''), 10_000);
      await bob.page.waitForSelector('#messages li.pending', { state: 'detached' });
      // The refused text is back in the composer (not lost), without the reply to the deleted one.
      expect(await bob.page.inputValue('#send-text')).toBe('too late');
      expect(await bob.page.isHidden('#reply-preview')).toBe(true);
      await bob.page.fill('#send-text', '');
      await bob.page.click('#error-close');

      // Typing: shown on the other page within 1 s, gone within 6 s after the typing stops.
      const typedAt = Date.now();
      await alice.page.type('#send-text', 'hel');
      const stoppedAt = Date.now(); // the last keystroke: the server lapses typing 5 s after it
      await bob.page.waitForSelector(`#typing:text("${alice.username} is typing…")`, { timeout: 5_000 });
      const typingShownMs = Date.now() - typedAt;
      expect(typingShownMs).toBeLessThanOrEqual(1000);
      expect(await alice.page.textContent('#typing')).toBe(''); // never oneself

      // Acceptance 6 (partly): messages, a reply, a reaction, members and typing are all shown.
      const violations = await seriousA11yViolations(bob.page);
      await screenshot(bob.page, 'room');
      expect(violations).toEqual([]);
      expect(await seriousA11yViolations(alice.page)).toEqual([]);
      await bob.page.waitForSelector('#typing:empty', { timeout: 8_000 });
      const typingClearedMs = Date.now() - stoppedAt;
      expect(typingClearedMs).toBeLessThanOrEqual(6000);
      console.log(`typing shown after ${typingShownMs} ms, cleared ${typingClearedMs} ms after the last keystroke`);
      await alice.page.fill('#send-text', '');

      // Read markers: unread while bob is away, 0 once his page has shown the messages.
      const bobSession = await sessionOf(bob.page);
      const unread = async () => {
        const res = await api.request('GET', '/rooms', { token: bobSession.token });
        return (res.body.rooms as Array<{ id: string; unread: number }>).find((r) => r.id === roomId)!.unread;
      };
      await bob.page.click('#leave');
      await bob.page.waitForSelector('#lobby-view');
      await send(alice.page, 'while bob is away 1');
      await send(alice.page, 'while bob is away 2');
      expect(await unread()).toBe(2);
      await bob.page.goto(`${stack.apiUrl}/r/${roomId}`);
      await messageText(bob.page, 'while bob is away 2').waitFor();
      await waitFor('bob to have read the messages', async () => (await unread()) === 0, 10_000);

      // Leaving the room: the owner may not (the server's error is shown), a member may.
      await alice.page.click('#leave-membership');
      await waitFor('the owner to be refused', async () => /^forbidden: /.test((await alice.page.textContent('#error-text')) ?? ''), 10_000);
      expect(await alice.page.locator('#room-view').count()).toBe(1);
      await bob.page.click('#leave-membership');
      await bob.page.waitForSelector('#lobby-view');
      await alice.page.locator('#messages li.system', { hasText: `${bob.username} left` }).waitFor();
      const bobRooms = await api.request('GET', '/rooms', { token: bobSession.token });
      expect(bobRooms.body.rooms.map((r: { id: string }) => r.id)).not.toContain(roomId);
      assertNoScriptErrors(alice, bob);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });

  it('Room search: old messages found newest first, edited-away and deleted ones never, "More results" pages, a chosen hit is paged in and shown highlighted', async () => {
    const alice = await person('alice');
    try {
      const session = await sessionOf(alice.page);
      const word = `quokka${suffix()}`;
      const roomId = (await api.createRoom(session.token, 'searchable')).id;
      const poster = await RoomMember.enter(api, session, roomId);
      const withWord = new Map<number, string>(); // seq → text, of the messages holding the word
      let editedSeq = 0;
      let deletedSeq = 0;
      let editedAway = '';
      let deletedText = '';
      try {
        // 300 messages; 14 of the first 42 hold the word: far older than the pages the view loads.
        for (let i = 0; i < 300; i += 50) {
          const texts = Array.from({ length: 50 }, (_, j) => (i + j < 42 && (i + j) % 3 === 0 ? `old note ${i + j} about the ${word}` : `filler message ${i + j}`));
          const acks = await Promise.all(texts.map((text, j) => poster.send(`search-${i + j}`, text)));
          acks.forEach((ack, j) => {
            expect(ack.ok).toBe(true);
            if (texts[j]!.includes(word)) withWord.set(ack.seq, texts[j]!);
          });
        }
        // The second oldest loses the word by an edit (and gains a word of its own), the third is deleted.
        [, editedSeq, deletedSeq] = [...withWord.keys()].sort((a, b) => a - b) as [number, number, number];
        editedAway = withWord.get(editedSeq)!;
        const edit = await poster.socket.timeout(20_000).emitWithAck('message:edit', { seq: editedSeq, text: `edited note, now about ${word}e only` });
        expect(edit.ok).toBe(true);
        deletedText = withWord.get(deletedSeq)!;
        const del = await poster.socket.timeout(20_000).emitWithAck('message:delete', { seq: deletedSeq });
        expect(del.ok).toBe(true);
      } finally {
        poster.close();
      }
      withWord.delete(editedSeq);
      withWord.delete(deletedSeq);
      const expected = [...withWord.keys()].sort((a, b) => b - a); // newest first
      expect(expected).toHaveLength(12);
      const oldest = expected[expected.length - 1]!;

      const page = alice.page;
      await page.goto(`${stack.apiUrl}/r/${roomId}`);
      await waitConnected(page);
      await messageText(page, 'filler message 299').waitFor();
      const hitSeqs = () => page.locator('#room-search-results li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));

      // Checked on the client: an empty query says what is wrong and asks nothing.
      await page.click('#room-search-submit');
      expect(await page.textContent('#room-search-problem')).toBe('Search: type a word to search for.');
      expect(await page.getAttribute('#room-search-input', 'aria-invalid')).toBe('true');

      // The edited message's new word matches; the old text of the edited and deleted ones never does.
      await page.fill('#room-search-input', `${word}e`);
      await page.press('#room-search-input', 'Enter');
      await waitFor('the edited message to be found by its new word', async () => (await hitSeqs()).join() === String(editedSeq), 10_000);
      expect(await page.textContent('#room-search-problem')).toBe('');
      for (const gone of [editedAway, deletedText]) {
        await page.fill('#room-search-input', gone);
        await page.press('#room-search-input', 'Enter');
        await waitFor(`"No matches" for ${gone}`, async () => (await page.textContent('#room-search-summary')) === `No matches for “${gone}”`, 10_000);
        expect(await hitSeqs()).toEqual([]);
      }

      // The word: the first page (10) newest first, "More results" brings the last 2 and hides.
      await page.fill('#room-search-input', word);
      await page.click('#room-search-submit');
      await waitFor('the first page of hits', async () => (await hitSeqs()).length === 10, 10_000);
      expect(await hitSeqs()).toEqual(expected.slice(0, 10));
      const first = page.locator(`#room-search-results li[data-seq="${expected[0]}"]`);
      expect(await first.locator('.author').textContent()).toBe(alice.username);
      expect(await first.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(await first.locator('.text').textContent()).toBe(withWord.get(expected[0]!));
      expect(await page.isVisible('#room-search-more')).toBe(true);
      await page.click('#room-search-more');
      await waitFor('the second page of hits', async () => (await hitSeqs()).length === 12, 10_000);
      expect(await hitSeqs()).toEqual(expected);
      await page.waitForSelector('#room-search-more', { state: 'hidden' });
      expect(await page.locator(`#room-search-results li[data-seq="${editedSeq}"], #room-search-results li[data-seq="${deletedSeq}"]`).count()).toBe(0);
      expect(await seriousA11yViolations(page)).toEqual([]);

      // The oldest hit is not loaded yet: choosing it (by keyboard) pages history in to it, scrolls it into view, highlights it.
      expect(await page.locator(`#messages li[data-seq="${oldest}"]`).count()).toBe(0);
      await page.focus(`#room-search-results li[data-seq="${oldest}"] button`);
      await page.keyboard.press('Enter');
      const row = page.locator(`#messages li.msg[data-seq="${oldest}"]`);
      await page.waitForSelector(`#messages li.msg.highlight[data-seq="${oldest}"]`, { timeout: 15_000 });
      expect(await row.locator('.text').textContent()).toBe(withWord.get(oldest));
      const inView = await page.evaluate(`(() => {
        const pane = document.getElementById('messages-pane').getBoundingClientRect();
        const li = document.querySelector('#messages li[data-seq="${oldest}"]').getBoundingClientRect();
        return li.top >= pane.top && li.bottom <= pane.bottom && li.height > 0;
      })()`);
      expect(inView).toBe(true);
      expect(await page.evaluate('document.activeElement?.getAttribute("data-seq")')).toBe(String(oldest));
      await screenshot(page, 'room-search');
      // The highlight is brief.
      await page.waitForSelector(`#messages li.msg[data-seq="${oldest}"]:not(.highlight)`, { timeout: 10_000 });
      expect(await page.locator('#messages li.highlight').count()).toBe(0);
      assertNoScriptErrors(alice);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });
});
