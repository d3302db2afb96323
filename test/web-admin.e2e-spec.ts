/**
 * The admin view of the web app (`/admin`) in a real Chromium against the real stack (API and
 * two gateways from dist/, a worker for exports, Postgres, Redis, S3): the gateway directory and
 * a drain done through the page, the room lookup, an export downloaded through the page, and
 * the refusal for plain users (operations and admin issue, acceptance 5; DOM contract "Admin").
 *
 * The drain test runs last: it leaves one gateway `gone` (an admin drain idles the process, it
 * does not stop it), which the other tests do not depend on anyway.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPerson, screenshot, scriptErrors, seriousA11yViolations, signIn, signUp, type PersonPage } from './support/browser';
import { ApiClient, type TestUser } from './support/client';
import { waitFor, type ManagedProcess } from './support/processes';
import { ResilientClient } from './support/resilient-client';
import { TestStack } from './support/stack';
import { startWorker } from './support/worker';

jest.setTimeout(240_000);

const ADMIN_PASSWORD = 'admin-password-123';

/** Text of every cell of a gateway's row, by class, as the admin sees it. */
interface RowText {
  status: string;
  rooms: string;
  connections: string;
  drainDisabled: boolean;
}

async function gatewayRow(page: Page, id: string): Promise<RowText> {
  const row = page.locator(`#gateways tr[data-gateway-id="${id}"]`);
  const text = async (sel: string) => ((await row.locator(sel).textContent()) ?? '').trim();
  return {
    status: await text('.status'),
    rooms: await text('.rooms'),
    connections: await text('.connections'),
    drainDisabled: await row.locator('button.drain').isDisabled(),
  };
}

/**
 * Code run in the page is passed as strings: this file is type-checked without the DOM library
 * (like test/support/browser.ts does it).
 */
const js = (value: unknown) => JSON.stringify(value);

/** The text of the first element matching `selector` in the page, as an expression. */
const textOf = (selector: string) => `(document.querySelector(${js(selector)})?.textContent ?? '').trim()`;

/**
 * Waits until `expression` is true in the page. Polled from here with page.evaluate (through
 * the DevTools protocol): page.waitForFunction evaluates strings with eval, which the app's CSP
 * rightly refuses.
 */
async function waitInPage(page: Page, what: string, expression: string, timeoutMs: number): Promise<void> {
  await waitFor(what, async () => (await page.evaluate(expression)) === true, timeoutMs, 50);
}

describe('web admin view (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let browser: Browser;
  let worker: ManagedProcess;
  let adminName: string;
  let admin: TestUser;
  const people: PersonPage[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'webadmin', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
    adminName = `admin_${randomBytes(4).toString('hex')}`;
    await stack.createAdmin(adminName, ADMIN_PASSWORD);
    admin = await api.login(adminName, ADMIN_PASSWORD);
    expect(admin.user.role).toBe('admin');
    worker = await startWorker('webadmin-worker', stack.env({ COLD_SNAPSHOT_SWEEP_MS: '0' }));
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const person of people) await person.page.context().close().catch(() => undefined);
    await browser?.close();
    await worker?.stop();
    await stack?.stop();
  });

  async function open(path: string): Promise<PersonPage> {
    const person = await openPerson(browser, `${stack.apiUrl}${path}`);
    people.push(person);
    return person;
  }

  it('shows no admin link to a plain user, and /admin shows the forbidden error and the lobby', async () => {
    const person = await open('/');
    const { page } = person;
    await signUp(page, `plain_${randomBytes(4).toString('hex')}`);
    await page.waitForSelector('#nav', { state: 'visible' });
    expect(await page.isVisible('#nav-rooms')).toBe(true);
    expect(await page.isVisible('#nav-admin')).toBe(false);

    await page.goto(`${stack.apiUrl}/admin`);
    await page.waitForSelector('#lobby-view');
    await page.waitForSelector('#error', { state: 'visible' });
    expect(await page.textContent('#error-text')).toMatch(/^forbidden: /);
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.locator('#admin-view').count()).toBe(0);
    expect(await page.isVisible('#nav-admin')).toBe(false);
    // The API refuses it too, whatever the page shows.
    const token = (await page.evaluate('localStorage.getItem("durable-rooms.token")')) as string;
    expect((await api.request('GET', '/admin/gateways', { token })).status).toBe(403);
    expect(scriptErrors(person)).toEqual([]);
  });

  it('signs an admin in on /admin itself and shows not_found for an unknown room id', async () => {
    const person = await open('/admin');
    const { page } = person;
    // The path asked for survives the sign-in.
    await signIn(page, adminName, ADMIN_PASSWORD);
    await page.waitForSelector('#admin-view');
    expect(await page.isVisible('#nav-admin')).toBe(true);

    await page.fill('#admin-room-input', randomUUID());
    await page.click('#admin-room-lookup');
    await page.waitForSelector('#error', { state: 'visible' });
    expect(await page.textContent('#error-text')).toMatch(/^not_found: /);
    expect(await page.isHidden('#admin-room')).toBe(true);
    expect(scriptErrors(person)).toEqual([]);
  });

  it('acceptance 5: lists the gateways, drains the room owner through the page (draining, then gone), the room moves, and an export downloads the room log', async () => {
    // A room with a connected member, so one gateway has a room and a connection.
    const owner = await api.register('adm5');
    const room = await api.createRoom(owner.token, 'Admin acceptance room');
    const member = new ResilientClient(api, owner, room.id, { name: 'adm5-member' });
    try {
      await member.connect();
      for (let i = 1; i <= 5; i++) await member.send(`adm5-${i}`, `message ${i} for the export`);
      const from = member.gatewayId!;
      const to = stack.gateways.map((g) => g.id).find((id) => id !== from)!;
      expect(to).toBeDefined();

      const person = await open('/');
      const { page } = person;
      await signIn(page, adminName, ADMIN_PASSWORD);
      await page.waitForSelector('#nav-admin', { state: 'visible' });
      await page.click('#nav-admin');
      await page.waitForSelector('#admin-view');
      expect(new URL(page.url()).pathname).toBe('/admin');

      // Both gateways active, the room and its connection counted on the owner only.
      const cells = (id: string) => ['.status', '.rooms', '.connections'].map((c) => textOf(`#gateways tr[data-gateway-id="${id}"] ${c}`)).join(` + '/' + `);
      await waitInPage(page, 'both gateways active, the room on one', `${cells(from)} === 'active/1/1' && ${cells(to)} === 'active/0/0'`, 20_000);
      expect(await page.locator('#gateways tr[data-gateway-id]').count()).toBe(2);
      expect(await gatewayRow(page, from)).toEqual({ status: 'active', rooms: '1', connections: '1', drainDisabled: false });
      expect(await gatewayRow(page, to)).toEqual({ status: 'active', rooms: '0', connections: '0', drainDisabled: false });
      expect(await page.textContent(`#gateways tr[data-gateway-id="${from}"] .url`)).toBe(stack.gateway(from).url);

      // Room lookup by its shareable link: the owner gateway with its epoch.
      const head = (await api.allEvents(owner.token, room.id)).length;
      await page.fill('#admin-room-input', `${stack.apiUrl}/r/${room.id}`);
      await page.click('#admin-room-lookup');
      await page.waitForSelector('#admin-room', { state: 'visible' });
      expect(await page.textContent('#admin-room .name')).toBe('Admin acceptance room');
      expect(await page.textContent('#admin-room .room-id')).toBe(room.id);
      expect(await page.textContent('#admin-room .head-seq')).toBe(String(head));
      expect(await page.textContent('#admin-room .owner')).toMatch(new RegExp(`^${from}, epoch \\d+$`));
      expect(await page.textContent('#admin-room .snapshot')).toMatch(/^(none|seq \d+ · .+ · \d+(\.\d)? (B|KiB))$/);

      // Record every status the owner's row shows from now on, as the admin sees them.
      await page.evaluate(`(() => {
        const seen = (window.__statuses = []);
        const note = () => {
          const text = ${textOf(`#gateways tr[data-gateway-id="${from}"] .status`)};
          if (seen.at(-1) !== text) seen.push(text);
        };
        note();
        new MutationObserver(note).observe(document.querySelector('#gateways'), { subtree: true, childList: true, characterData: true });
      })()`);

      // The drain, by keyboard: Enter opens the confirm step, Escape cancels it (focus back on
      // Drain, nothing sent), Enter again and Enter on "Confirm drain" sends it.
      const row = `#gateways tr[data-gateway-id="${from}"]`;
      const drainRequests: string[] = [];
      page.on('request', (req) => {
        if (req.method() === 'POST' && new URL(req.url()).pathname.endsWith('/drain')) drainRequests.push(new URL(req.url()).pathname);
      });
      await page.focus(`${row} button.drain`);
      await page.keyboard.press('Enter');
      await page.waitForSelector(`${row} button.drain-confirm`, { state: 'visible' });
      expect(await page.isVisible(`${row} button.drain-cancel`)).toBe(true);
      expect(await page.evaluate('document.activeElement?.textContent')).toBe('Confirm drain');
      await page.keyboard.press('Escape');
      await page.waitForSelector(`${row} button.drain`, { state: 'visible' });
      expect(await page.isHidden(`${row} button.drain-confirm`)).toBe(true);
      expect(await page.evaluate('document.activeElement?.className')).toBe('drain secondary');
      expect(drainRequests).toEqual([]);
      expect((await gatewayRow(page, from)).status).toBe('active');

      await page.keyboard.press('Enter');
      await page.waitForSelector(`${row} button.drain-confirm`, { state: 'visible' });
      await page.keyboard.press('Enter');
      await waitInPage(page, 'the row to show draining', `${textOf(`${row} .status`)} === 'draining'`, 10_000);
      expect((await gatewayRow(page, from)).drainDisabled).toBe(true);
      expect(drainRequests).toEqual([`/admin/gateways/${from}/drain`]);
      // The drain hands the room over and the gateway then leaves the directory: `gone`.
      await waitInPage(page, 'the row to show gone', `${textOf(`${row} .status`)} === 'gone'`, 60_000).catch((err: Error) => {
          throw new Error(`${err.message}\n${stack.logs()}`);
        });
      const statuses = await page.evaluate('window.__statuses');
      expect(statuses).toEqual(['active', 'draining', 'gone']);
      expect(await gatewayRow(page, from)).toEqual({ status: 'gone', rooms: '0', connections: '0', drainDisabled: true });
      expect((await gatewayRow(page, to)).status).toBe('active');

      // The member was told room:moved and reconnected: the other gateway owns the room now.
      const start = Date.now();
      while (member.gatewayId !== to) {
        if (Date.now() - start > 30_000) throw new Error(`the member did not move to ${to}: ${JSON.stringify(member.losses)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(member.moved.some((m) => m.reason === 'drain')).toBe(true);
      await waitInPage(page, `${to} to show the moved room and its connection`, `${cells(to)} === 'active/1/1'`, 10_000).catch(async (err: Error) => {
        const listing = await api.request('GET', '/admin/gateways', { token: admin.token });
        throw new Error(`${err.message}; page: ${JSON.stringify(await gatewayRow(page, to))}; API: ${JSON.stringify(listing.body)}`);
      });
      await page.click('#admin-room-lookup');
      await waitInPage(page, `the lookup to show ${to} as owner`, `${textOf('#admin-room .owner')}.startsWith(${js(`${to}, epoch `)})`, 10_000);
      // The drain's final snapshot of the room (taken before the hand-over) is shown.
      expect(await page.textContent('#admin-room .snapshot')).toMatch(new RegExp(`^seq ${head} · .+ · \\d+(\\.\\d)? (B|KiB)$`));

      // An export of the room, started and followed in the page, then downloaded.
      const events = await api.allEvents(admin.token, room.id);
      expect(events).toHaveLength(head);
      await page.click('#export-start');
      const item = await page.waitForSelector('#exports li[data-export-id]');
      const exportId = (await item.getAttribute('data-export-id'))!;
      await waitInPage(page, 'the export to be done', `${textOf('#exports li .status')} === 'done'`, 60_000).catch((err: Error) => {
          throw new Error(`${err.message}\n${worker.logs().slice(-4000)}`);
        });
      expect(await page.textContent('#exports li .events')).toBe(`${head} events`);
      expect(await page.textContent('#exports li .bytes')).toMatch(/^\d+(\.\d)? (B|KiB)$/);
      const exported = await api.request('GET', `/admin/exports/${exportId}`, { token: admin.token });
      expect(exported.body.export).toMatchObject({ id: exportId, roomId: room.id, status: 'done', events: head });

      // Done: a button, and nothing fetched until it is clicked.
      const downloadCalls: string[] = [];
      page.on('request', (req) => {
        if (new URL(req.url()).pathname === `/admin/exports/${exportId}/download`) downloadCalls.push(req.method());
      });
      const button = await page.waitForSelector('#exports li button.download');
      const fileName = `room-${room.id}-${exportId}.ndjson.gz`;
      expect(await button.textContent()).toBe(`Download ${fileName}`);
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // more than a poll: still nothing fetched
      expect(downloadCalls).toEqual([]);
      expect(await page.locator('#exports a').count()).toBe(0);
      // Records the object URLs made and revoked, and every text the download state shows.
      await page.evaluate(`(() => {
        const create = URL.createObjectURL.bind(URL);
        const revoke = URL.revokeObjectURL.bind(URL);
        window.__created = [];
        window.__revoked = [];
        URL.createObjectURL = (blob) => { const url = create(blob); window.__created.push(url); return url; };
        URL.revokeObjectURL = (url) => { window.__revoked.push(url); revoke(url); };
        window.__downloadStates = [];
        new MutationObserver(() => {
          const text = document.querySelector('#exports .download-state')?.textContent;
          if (text && window.__downloadStates[window.__downloadStates.length - 1] !== text) window.__downloadStates.push(text);
        }).observe(document.getElementById('exports'), { subtree: true, childList: true, characterData: true });
      })()`);

      // A failed download is shown, and clicking again retries it.
      const downloadPath = `${stack.apiUrl}/admin/exports/${exportId}/download`;
      await page.route(downloadPath, (route) =>
        route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'the store is away' } }) }),
      );
      await button.click();
      await waitInPage(page, 'the download error', `${textOf('#error-text')} === 'unavailable: the store is away'`, 10_000);
      expect(await page.textContent('#exports .download-state')).toBe('Download failed: press the button to try again');
      await page.unroute(downloadPath);
      expect(await page.evaluate('window.__created')).toEqual([]);

      const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
      expect(download.suggestedFilename()).toBe(fileName);
      expect(downloadCalls).toEqual(['GET', 'GET']);
      expect(await page.evaluate('window.__downloadStates')).toEqual(['Downloading…', 'Download failed: press the button to try again', 'Downloading…', 'Download started']);
      // The object URL lived only for the click: revoked soon after, no link left in the page.
      const created = (await page.evaluate('window.__created')) as string[];
      expect(created).toHaveLength(1);
      expect(created[0]).toMatch(/^blob:/);
      await waitInPage(page, 'the object URL to be revoked', `JSON.stringify(window.__revoked) === ${js(JSON.stringify(created))}`, 10_000);
      expect(await page.locator('a[download]').count()).toBe(0);
      const gz = readFileSync((await download.path())!);
      expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // a gzip, as downloaded
      const lines = gunzipSync(gz).toString('utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(head);
      const parsed = lines.map((line) => JSON.parse(line) as { seq: number });
      expect(parsed.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
      expect(parsed.map((e) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      expect(lines).toEqual(events.map((e) => JSON.stringify(e)));

      // Accessible with gateways, a room and an export shown.
      expect(await seriousA11yViolations(page)).toEqual([]);
      await screenshot(page, 'admin');

      // Leaving the view stops its polling; no object URL is left unrevoked.
      const adminCalls: string[] = [];
      page.on('request', (req) => {
        if (new URL(req.url()).pathname.startsWith('/admin/')) adminCalls.push(req.url());
      });
      await page.click('#nav-rooms');
      await page.waitForSelector('#lobby-view');
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // longer than both polling intervals
      expect(adminCalls).toEqual([]);
      expect(await page.evaluate('window.__revoked')).toEqual(await page.evaluate('window.__created'));

      expect(scriptErrors(person)).toEqual([]);
    } finally {
      member.close();
    }
  });
});
