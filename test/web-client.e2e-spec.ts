/**
 * The web client served by the API at `/` (in a real headless Chromium) and `GET /metrics` on
 * the API and the gateways, against the real stack started from dist/.
 *
 * The browser part needs Debian's Chromium at /usr/bin/chromium (`apt-get install -y chromium`);
 * without it that test is skipped with a message, the rest still runs.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ApiClient, RoomMember } from './support/client';
import { waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(180_000);

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SCREENSHOT = '/tmp/durable-rooms-web-client.png';
if (!HAVE_CHROMIUM) {
  console.warn(`web-client e2e: browser test SKIPPED: ${CHROMIUM} is missing (install it with: apt-get install -y chromium)`);
}
const browserIt = HAVE_CHROMIUM ? it : it.skip;

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('web client and /metrics (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'web', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('serves only /, /app.js and /app.css, with a Content-Security-Policy, and never shadows the API', async () => {
    const page = await fetch(`${stack.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).not.toContain('unsafe-inline');
    expect(await page.text()).toContain('<script src="/app.js" defer></script>');

    const js = await fetch(`${stack.apiUrl}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(csp);
    const source = await js.text();
    expect(source).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    const css = await fetch(`${stack.apiUrl}/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);

    // Nothing else of the folder is served, and the API's own routes and errors are untouched.
    for (const path of ['/index.html', '/web/app.js', '/app.js/', '/../package.json']) {
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

  browserIt('works in a real browser: register, create, send, second user joins, edit, delete, errors, reconnect', async () => {
    const { chromium } = await import('playwright-core');
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const pageErrors: string[] = [];
    const open = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(err.message));
      page.on('console', (msg) => {
        if (msg.type() === 'error') pageErrors.push(msg.text());
      });
      page.setDefaultTimeout(20_000);
      await page.goto(`${stack.apiUrl}/`);
      return page;
    };
    const signUp = async (page: Page, username: string): Promise<void> => {
      await page.fill('#auth-username', username);
      await page.fill('#auth-password', 'correct-horse-battery');
      await page.click('#register');
      await page.waitForSelector('#lobby-view:not([hidden])');
    };
    const messageText = (page: Page, text: string) => page.locator('#messages li.msg[data-seq] .text', { hasText: text });

    try {
      const alice = await open();
      const suffix = Date.now().toString(36);
      // Errors from the API are shown: a password that is too short is refused by the API.
      await alice.fill('#auth-username', `alice_${suffix}`);
      await alice.fill('#auth-password', 'short');
      await alice.evaluate("document.getElementById('auth-password').removeAttribute('minlength')");
      await alice.click('#register');
      await alice.waitForSelector('#error:not([hidden])');
      expect(await alice.textContent('#error-text')).toMatch(/^invalid: /);

      await signUp(alice, `alice_${suffix}`);
      await alice.fill('#room-name-input', 'Web <b>room</b>');
      await alice.click('#create-room');
      await alice.waitForSelector('#conn-status:text-matches("^connected to ")');
      expect(await alice.textContent('#room-name')).toBe('Web <b>room</b>');
      const roomId = (await alice.textContent('#room-id'))!;

      const hostile = '<img src=x onerror="window.__xss=1">hello & <b>bold</b>';
      await alice.fill('#send-text', hostile);
      await alice.click('#send');
      await messageText(alice, 'hello &').waitFor();
      expect(await messageText(alice, 'hello &').textContent()).toBe(hostile);
      expect(await alice.locator('#messages img, #messages b').count()).toBe(0);

      const bob = await open();
      await signUp(bob, `bob_${suffix}`);
      await bob.fill('#room-id-input', roomId);
      await bob.click('#join-room');
      await bob.waitForSelector('#conn-status:text-matches("^connected to ")');
      await messageText(bob, 'hello &').waitFor();
      expect(await messageText(bob, 'hello &').textContent()).toBe(hostile);
      await alice.locator('#presence li', { hasText: `bob_${suffix}` }).waitFor();
      expect(await bob.locator('#presence li').allTextContents()).toEqual(expect.arrayContaining([`alice_${suffix}`, `bob_${suffix}`]));
      // Bob may not edit or delete Alice's message.
      expect(await bob.locator('#messages li.msg .edit').count()).toBe(0);

      await bob.fill('#send-text', 'hi alice');
      await bob.press('#send-text', 'Enter');
      await messageText(alice, 'hi alice').waitFor();

      // Edit and delete fold into the displayed text, for the other user too.
      const own = alice.locator('#messages li.msg.own', { hasText: 'hello &' });
      await own.locator('.edit').click();
      await alice.fill('#messages .edit-text', 'edited text');
      await alice.click('#messages .edit-save');
      await messageText(bob, 'edited text').waitFor();
      expect(await bob.locator('#messages li.msg', { hasText: 'edited text' }).locator('.edited').count()).toBe(1);
      await alice.locator('#messages li.msg.own', { hasText: 'edited text' }).locator('.delete').click();
      await bob.locator('#messages li.msg.deleted').waitFor();
      expect(await messageText(bob, 'edited text').count()).toBe(0);
      // Each event shown once, in seq order.
      const seqs = (await bob.locator('#messages li[data-seq]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))))) as number[];
      expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));

      await alice.screenshot({ path: SCREENSHOT });

      // The reconnect recipe: the owning gateway dies; a message sent meanwhile stays pending,
      // then both pages get a new connection from the API, rejoin after their last seq and the
      // message is resent (same clientMsgId) and delivered once.
      const status = (await alice.textContent('#conn-status'))!;
      const ownerId = status.replace(/^connected to /, '');
      await stack.killGateway(ownerId);
      await alice.waitForSelector('#conn-status:not(:text-matches("^connected to "))');
      await alice.fill('#send-text', 'sent while the gateway was down');
      await alice.click('#send');
      await alice.waitForSelector(`#conn-status:text-matches("^connected to (?!${ownerId}$)")`, { timeout: 30_000 });
      await messageText(bob, 'sent while the gateway was down').waitFor({ timeout: 30_000 });
      await waitFor('the pending message to be acknowledged', async () => (await alice.locator('#messages li.pending').count()) === 0, 20_000);
      expect(await messageText(alice, 'sent while the gateway was down').count()).toBe(1);
      expect(await messageText(bob, 'sent while the gateway was down').count()).toBe(1);

      // An unknown room: the API's error is shown and the page is back in the lobby.
      await bob.click('#leave');
      await bob.fill('#room-id-input', 'no-such-room');
      await bob.click('#join-room');
      await bob.waitForSelector('#error:not([hidden])');
      expect(await bob.textContent('#error-text')).toMatch(/^not_found: /);
      await bob.waitForSelector('#lobby-view:not([hidden])');

      expect(await alice.evaluate('window.__xss')).toBeUndefined();
      // Failed handshakes to the killed gateway are logged by Chromium as console errors; only
      // script errors of the page itself count here.
      expect(pageErrors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stack.logs()}`);
    } finally {
      await browser.close();
    }
  });
  browserIt('members in a real browser: a private room, an invitation by username, the members list with roles, moderator actions', async () => {
    const { chromium } = await import('playwright-core');
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const pageErrors: string[] = [];
    const open = async (): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
      const page = await context.newPage();
      page.on('pageerror', (err) => pageErrors.push(err.message));
      page.setDefaultTimeout(20_000);
      await page.goto(`${stack.apiUrl}/`);
      return page;
    };
    const signUp = async (page: Page, username: string): Promise<void> => {
      await page.fill('#auth-username', username);
      await page.fill('#auth-password', 'correct-horse-battery');
      await page.click('#register');
      await page.waitForSelector('#lobby-view:not([hidden])');
    };
    const memberRow = (page: Page, username: string) => page.locator('#members li.member', { hasText: username });
    try {
      const suffix = Date.now().toString(36);
      const [olga, bob] = [`olga_${suffix}`, `bob_${suffix}`];
      const owner = await open();
      await signUp(owner, olga);
      const guest = await open();
      await signUp(guest, bob);

      // A private room: bob, not invited, is refused.
      await owner.fill('#room-name-input', 'private corner');
      await owner.check('#room-private');
      await owner.click('#create-room');
      await owner.waitForSelector('#room-view:not([hidden])');
      await memberRow(owner, olga).locator('.role', { hasText: 'owner' }).waitFor();
      const roomId = (await owner.textContent('#room-id'))!;
      await guest.fill('#room-id-input', roomId);
      await guest.click('#join-room');
      await waitFor('bob to be refused', async () => /^forbidden: /.test((await guest.textContent('#error-text')) ?? ''), 10_000);
      await guest.click('#error-close');

      // Invited by username, he gets in; both see him in the members list.
      await owner.fill('#invite-username', bob);
      await owner.click('#invite');
      await owner.locator('#messages li.system', { hasText: `invited ${bob}` }).waitFor();
      await guest.fill('#room-id-input', roomId);
      await guest.click('#join-room');
      await guest.waitForSelector('#room-view:not([hidden])');
      await memberRow(guest, bob).locator('.role', { hasText: 'member' }).waitFor();
      await memberRow(owner, bob).waitFor();
      // A member sees no moderator actions; the owner does.
      expect(await guest.locator('#members .member-action').count()).toBe(0);
      expect(await guest.isHidden('#invite-form')).toBe(true);

      // Moderator actions on a member: promote, mute, then ban (bob is kicked to the lobby).
      await memberRow(owner, bob).locator('button', { hasText: 'Make moderator' }).click();
      await memberRow(guest, bob).locator('.role', { hasText: 'moderator' }).waitFor();
      await memberRow(owner, bob).locator('button', { hasText: 'Mute 10 min' }).click();
      await memberRow(owner, bob).locator('.muted').waitFor();
      await memberRow(owner, bob).locator('button', { hasText: 'Ban' }).click();
      await guest.waitForSelector('#lobby-view:not([hidden])');
      expect(await guest.textContent('#error-text')).toMatch(/banned/);
      await waitFor('bob to leave the owner\'s list', async () => (await memberRow(owner, bob).count()) === 0, 10_000);
      // The owner's lobby lists the room with its role.
      await owner.click('#leave');
      await owner.locator('#my-rooms li', { hasText: 'private corner' }).locator('.role', { hasText: 'private · owner' }).waitFor();
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
