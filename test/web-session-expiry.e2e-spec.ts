/**
 * The web app (dist/web) in real headless Chromium when its access token expires while a room is
 * open, against the real stack with the shortest token lifetime the config allows
 * (TOKEN_TTL_SECONDS=60). An open room keeps working on its socket until something makes the
 * client library reconnect; that reconnect's `POST /rooms/:id/connection` then answers 401 and the
 * room handle fails for good. The app must treat that like a 401 of any API call: back to sign-in,
 * saying the session expired, and after signing in again the same room, with the messages that
 * were not sent yet sent once. A send refused at once by a failed handle keeps its text.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPerson, scriptErrors, signIn, signUp, type PersonPage } from './support/browser';
import { ApiClient } from './support/client';
import { TestStack } from './support/stack';

jest.setTimeout(240_000);

const TOKEN_TTL_SECONDS = 60;
const PASSWORD = 'correct-horse-battery';
const suffix = () => Math.random().toString(36).slice(2, 8);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const messageText = (page: Page, text: string) => page.locator('#messages li.msg[data-seq] .text', { hasText: text });

/** The page's session as stored (`durable-rooms.token` / `.user`), with the token's `exp`. */
async function sessionOf(page: Page): Promise<{ token: string; userId: string; exp: number }> {
  const [token, user] = (await page.evaluate(`[localStorage.getItem('durable-rooms.token'), localStorage.getItem('durable-rooms.user')]`)) as [string, string];
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
  return { token, userId: (JSON.parse(user) as { id: string }).id, exp: claims.exp };
}

/** The client library's outbox of one user and room in the page's localStorage (texts, oldest first). */
async function outboxTexts(page: Page, userId: string, roomId: string): Promise<string[]> {
  const raw = (await page.evaluate(`localStorage.getItem(${JSON.stringify(`durable-rooms.outbox.${userId}:${roomId}`)})`)) as string | null;
  return raw === null ? [] : (JSON.parse(raw) as Array<{ text: string }>).map((e) => e.text);
}

describe('web client: an access token that expires while a room is open (e2e)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let browser: Browser;
  let people: PersonPage[] = [];

  beforeAll(async () => {
    stack = await TestStack.start({
      name: 'webexp',
      gateways: 2,
      env: { TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS), RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' },
    });
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

  async function person(name: string): Promise<PersonPage & { username: string }> {
    const p = await openPerson(browser, `${stack.apiUrl}/`);
    people.push(p);
    const username = `${name}_${suffix()}`;
    await signUp(p.page, username, PASSWORD);
    return { ...p, username };
  }

  async function waitConnected(page: Page, timeout = 30_000): Promise<string> {
    await page.waitForSelector('#conn-status[data-state="connected"]', { timeout });
    return ((await page.textContent('#conn-status')) ?? '').replace(/^connected to /, '');
  }

  async function createRoom(page: Page, name: string): Promise<string> {
    await page.waitForSelector('#lobby-view');
    await page.fill('#room-name-input', name);
    await page.click('#create-room');
    await page.waitForURL(/\/r\/[^/]+$/);
    await waitConnected(page);
    return (await page.textContent('#room-id'))!;
  }

  it('a send refused at once by a room handle that failed for good keeps the typed text in the composer', async () => {
    const bob = await person('bob');
    try {
      const roomId = await createRoom(bob.page, 'refusing room');
      const owner = await waitConnected(bob.page);
      // From now on the API refuses Bob this room (as if his access was taken away), and the
      // room's gateway goes away: the reconnect gets 403, which is final for the room handle.
      await bob.page.route(`**/rooms/${roomId}/connection`, (route) =>
        route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: { code: 'forbidden', message: 'no longer allowed in' } }) }),
      );
      await stack.killGateway(owner);
      await bob.page.waitForSelector('#conn-status[data-state="offline"]', { timeout: 15_000 });
      await bob.page.waitForSelector('#error:not([hidden])');
      expect(await bob.page.textContent('#error-text')).toMatch(/^forbidden: /);
      await bob.page.click('#error-close');

      await bob.page.fill('#send-text', 'typed after the room failed');
      await bob.page.press('#send-text', 'Enter');
      await bob.page.waitForSelector('#error:not([hidden])');
      expect(await bob.page.textContent('#error-text')).toMatch(/^forbidden: /);
      // The text is back in the composer, and no row claims it is on its way.
      expect(await bob.page.inputValue('#send-text')).toBe('typed after the room failed');
      expect(await bob.page.locator('#messages li.pending').count()).toBe(0);
      expect(await bob.page.isVisible('#room-view')).toBe(true);
      expect(scriptErrors(bob)).toEqual([]);
      await stack.startGateway(owner);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });

  it('a reconnect after the token expired signs the user out saying so; signing in again reopens the room and sends the message typed while expired, once', async () => {
    const alice = await person('alice');
    // Alice's sockets go through Playwright, which can lose her `message:send` frames on the way
    // (so that a message is certainly unacknowledged when the reconnect finds the token expired).
    let loseSends = false;
    await alice.page.routeWebSocket(/\/socket\.io\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        if (loseSends && typeof message === 'string' && message.includes('"message:send"')) return;
        server.send(message);
      });
    });
    try {
      const roomId = await createRoom(alice.page, 'expiring room');
      await alice.page.fill('#send-text', 'before the expiry');
      await alice.page.press('#send-text', 'Enter');
      await messageText(alice.page, 'before the expiry').waitFor();
      const owner = await waitConnected(alice.page);
      const first = await sessionOf(alice.page);
      expect(first.exp * 1000 - Date.now()).toBeLessThanOrEqual(TOKEN_TTL_SECONDS * 1000);

      // Past the token's expiry the room still works on its socket (the API is not asked)...
      await sleep(first.exp * 1000 + 1500 - Date.now());
      expect((await api.request('GET', `/rooms/${roomId}`, { token: first.token })).status).toBe(401);
      expect(await alice.page.isVisible('#room-view')).toBe(true);
      loseSends = true;
      await alice.page.fill('#send-text', 'typed while expired');
      await alice.page.press('#send-text', 'Enter');
      await alice.page.locator('#messages li.pending', { hasText: 'typed while expired' }).waitFor();

      // ...until the room's gateway goes away: the reconnect's POST /connection answers 401.
      await stack.killGateway(owner);
      await alice.page.waitForSelector('#auth-view', { timeout: 30_000 });
      expect(await alice.page.isVisible('#error')).toBe(true);
      expect(await alice.page.textContent('#error-text')).toMatch(/^unauthorized: your session has expired, sign in again/);
      expect(await alice.page.locator('#room-view').count()).toBe(0);
      expect(new URL(alice.page.url()).pathname).toBe(`/r/${roomId}`);
      expect(await alice.page.evaluate(`localStorage.getItem('durable-rooms.token')`)).toBeNull();
      // The unsent message survives the sign-out in the outbox (per user and room).
      expect(await outboxTexts(alice.page, first.userId, roomId)).toEqual(['typed while expired']);

      // Signing in again: the same room, the message shown pending, then sent by the library.
      loseSends = false;
      await signIn(alice.page, alice.username, PASSWORD);
      expect(new URL(alice.page.url()).pathname).toBe(`/r/${roomId}`);
      await alice.page.waitForSelector('#room-view');
      expect(await alice.page.textContent('#room-id')).toBe(roomId);
      expect(await alice.page.isHidden('#error')).toBe(true);
      await waitConnected(alice.page, 60_000);
      await messageText(alice.page, 'typed while expired').waitFor({ timeout: 30_000 });
      await alice.page.waitForSelector('#messages li.pending', { state: 'detached' });
      await sleep(1000); // a duplicate would have arrived by now
      expect(await messageText(alice.page, 'typed while expired').count()).toBe(1);
      expect(await messageText(alice.page, 'before the expiry').count()).toBe(1);
      const second = await sessionOf(alice.page);
      expect(second.userId).toBe(first.userId);
      expect(await outboxTexts(alice.page, second.userId, roomId)).toEqual([]);

      const events = await api.allEvents(second.token, roomId);
      const texts = events.filter((e) => e.type === 'message.posted').map((e) => (e.data as { text: string }).text);
      expect(texts).toEqual(['before the expiry', 'typed while expired']);
      expect(scriptErrors(alice)).toEqual([]);
    } catch (err) {
      throw new Error(`${(err as Error).stack}\n${stack.logs()}`);
    }
  });
});
