/**
 * The lobby of the web app (path `/`, DOM contract "Lobby") in real Chromium against the real
 * stack from dist/: creating public and private rooms, "My rooms" with unread badges that follow
 * another user's messages, search over the rooms the user may read, a shared link kept through
 * sign-in, accessibility (axe-core) and script errors.
 */
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, openPerson, screenshot, scriptErrors, seriousA11yViolations, signUp, type PersonPage } from './support/browser';
import { ApiClient, RoomMember, type TestUser } from './support/client';
import { waitFor } from './support/processes';
import { TestStack } from './support/stack';

jest.setTimeout(180_000);

const ROOM_PATH = /\/r\/([^/?#]+)$/;
/** A word of this run only: the test database keeps earlier runs' public rooms, which search reads too. */
const TAG = Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');

describe('web lobby (e2e, real browser)', () => {
  let stack: TestStack;
  let api: ApiClient;
  let browser: Browser;
  let person: PersonPage;
  let page: Page;
  let bob: TestUser;
  const username = `lobby_${randomUUID().slice(0, 8)}`;
  const open: RoomMember[] = [];
  const rooms: { public?: string; private?: string } = {};
  let bobInFoxDen: RoomMember;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'web-lobby', gateways: 2, env: { RATE_LIMIT_MSG_PER_SEC: '0', AUTH_RATE_LIMIT_PER_MIN: '0' } });
    api = new ApiClient(stack.apiUrl);
    browser = await launchChromium();
    person = await openPerson(browser, `${stack.apiUrl}/`);
    page = person.page;
    bob = await api.register('bob');
  });

  afterAll(async () => {
    for (const m of open) m.close();
    await browser?.close();
    await stack?.stop();
  });

  async function enter(user: TestUser, roomId: string): Promise<RoomMember> {
    const member = await RoomMember.enter(api, user, roomId);
    open.push(member);
    return member;
  }

  async function send(member: RoomMember, text: string): Promise<void> {
    const ack = (await member.send(randomUUID(), text)) as { ok: boolean };
    expect(ack).toMatchObject({ ok: true });
  }

  /** Creates a room through the lobby's form; returns its id from the URL the page went to. */
  async function createInPage(name: string, isPrivate: boolean): Promise<string> {
    await page.fill('#room-name-input', name);
    await page.setChecked('#room-private', isPrivate);
    await page.click('#create-room');
    await page.waitForURL(ROOM_PATH);
    await page.waitForSelector('#room-view');
    const id = decodeURIComponent(ROOM_PATH.exec(new URL(page.url()).pathname)![1]!);
    expect(id).toMatch(/\S/);
    return id;
  }

  async function backToLobby(): Promise<void> {
    await page.click('#nav-rooms');
    await page.waitForSelector('#lobby-view');
  }

  const roomRow = (roomId: string) => page.locator(`#my-rooms li[data-room-id="${roomId}"]`);

  it('signs up in the page, creates a public and a private room (each opens at /r/<id>), and lists both with visibility and role', async () => {
    await page.waitForSelector('#auth-view');
    expect(await seriousA11yViolations(page)).toEqual([]);
    await signUp(page, username);
    await page.waitForSelector('#lobby-view');
    expect(new URL(page.url()).pathname).toBe('/');

    rooms.public = await createInPage('Fox den', false);
    await backToLobby();
    await roomRow(rooms.public).waitFor();
    expect(await roomRow(rooms.public).locator('a.room-link').textContent()).toBe('Fox den');
    expect(await roomRow(rooms.public).locator('a.room-link').getAttribute('href')).toBe(`/r/${rooms.public}`);
    expect(await roomRow(rooms.public).locator('.role').textContent()).toBe('public · owner');

    rooms.private = await createInPage('Quiet corner', true);
    await backToLobby();
    await roomRow(rooms.private).waitFor();
    expect(await roomRow(rooms.private).locator('.role').textContent()).toBe('private · owner');
    expect(await page.locator('#my-rooms li').count()).toBe(2);
    // Most recent activity first: the room created last leads.
    expect(await page.locator('#my-rooms li').first().getAttribute('data-room-id')).toBe(rooms.private);
  });

  it('says what is wrong with a room name or a join link before asking the server, and joins by a pasted link', async () => {
    await page.fill('#room-name-input', '   ');
    await page.click('#create-room');
    await expect(page.locator('#error-text').textContent()).resolves.toBe('invalid: give the room a name');
    // maxlength stops typing; a paste through script still meets the check.
    await page.evaluate(`document.getElementById('room-name-input').value = 'n'.repeat(101)`);
    await page.click('#create-room');
    await expect(page.locator('#error-text').textContent()).resolves.toBe('invalid: a room name has at most 100 characters (this one has 101)');
    expect(new URL(page.url()).pathname).toBe('/');

    await page.fill('#room-id-input', 'https://example.com/admin');
    await page.click('#join-room');
    await expect(page.locator('#error-text').textContent()).resolves.toBe('invalid: paste a room id or a room link (…/r/<id>)');

    // A link to a room of bob's, pasted with a query and fragment.
    const bobs = await api.createRoom(bob.token, 'Bob shares');
    await page.fill('#room-id-input', `  ${stack.apiUrl}/r/${bobs.id}?via=mail#top `);
    await page.click('#join-room');
    await page.waitForURL(`${stack.apiUrl}/r/${bobs.id}`);
    await page.waitForSelector('#room-view');
    expect(await page.locator('#error').isHidden()).toBe(true);
    await backToLobby();
  });

  it('shows unread badges within the 5 s refresh: 5 after another user posts five, none for a room without unread', async () => {
    const bobInRoom = (bobInFoxDen = await enter(bob, rooms.public!));
    for (let i = 1; i <= 5; i++) await send(bobInRoom, `message ${i} from bob`);

    const badge = roomRow(rooms.public!).locator('.unread');
    await badge.waitFor({ timeout: 12_000 });
    await waitFor('the badge to show 5', async () => ((await badge.textContent()) === '5' ? true : undefined), 12_000);
    expect(await badge.getAttribute('aria-label')).toBe('5 unread');
    expect(await roomRow(rooms.private!).locator('.unread').count()).toBe(0);
    // The room with new activity moved to the top.
    expect(await page.locator('#my-rooms li').first().getAttribute('data-room-id')).toBe(rooms.public);
  });

  it('refreshes "My rooms" when the window regains focus and on the 5 s timer, and stops its timer when the lobby is left', async () => {
    const owner = await api.register('clock');
    const room = await api.createRoom(owner.token, 'Clockwork');
    const bobInRoom = await enter(bob, room.id);
    const watcher = await openPerson(browser, `${stack.apiUrl}/`);
    let roomListReads = 0;
    watcher.page.on('request', (req) => {
      const url = new URL(req.url());
      if (req.method() === 'GET' && url.pathname === '/rooms') roomListReads++;
    });
    try {
      // The page's timers run only when the test moves its clock: what refreshes is known exactly.
      await watcher.page.clock.install();
      await watcher.page.evaluate(`localStorage.setItem('durable-rooms.token', ${JSON.stringify(owner.token)}); localStorage.setItem('durable-rooms.user', ${JSON.stringify(JSON.stringify(owner.user))})`);
      await watcher.page.reload();
      await watcher.page.clock.pauseAt(Date.now() + 60_000);
      const row = watcher.page.locator(`#my-rooms li[data-room-id="${room.id}"]`);
      await row.waitFor();
      expect(await row.locator('.unread').count()).toBe(0);

      await send(bobInRoom, 'tick');
      await watcher.page.evaluate(`window.dispatchEvent(new Event('focus'))`);
      await waitFor('the badge to show 1 after focus', async () => ((await row.locator('.unread').textContent()) === '1' ? true : undefined), 10_000);

      await send(bobInRoom, 'tock');
      await watcher.page.clock.runFor(5_000);
      await waitFor('the badge to show 2 after 5 s', async () => ((await row.locator('.unread').textContent()) === '2' ? true : undefined), 10_000);
      expect(await row.locator('.unread').getAttribute('aria-label')).toBe('2 unread');

      // Signing out unmounts the lobby: a minute of its clock reads the list no more.
      await watcher.page.click('#logout');
      await watcher.page.waitForSelector('#auth-view');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const readsWhenLeft = roomListReads;
      await watcher.page.clock.runFor(60_000);
      await watcher.page.evaluate(`window.dispatchEvent(new Event('focus'))`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(roomListReads).toBe(readsWhenLeft);
      expect(readsWhenLeft).toBeGreaterThanOrEqual(3);
      expect(scriptErrors(watcher)).toEqual([]);
    } finally {
      await watcher.page.context().close();
    }
  });

  it('searches all readable rooms newest first, never a private room of others, says "No matches", and opens a hit\'s room', async () => {
    const bobInRoom = bobInFoxDen;
    await send(bobInRoom, `an older fox sighting ${TAG}`);
    await send(bobInRoom, `the quick brown fox jumps ${TAG}`);
    // Carol's private room, newest of all: it would lead the results if it leaked.
    const carol = await api.register('carol');
    const secret = await api.request('POST', '/rooms', { token: carol.token, body: { name: 'Carol private', visibility: 'private' } });
    expect(secret.status).toBe(201);
    const carolInRoom = await enter(carol, secret.body.room.id);
    await send(carolInRoom, `a secret fox in private ${TAG}`);

    // "fox" and this run's word: every word must match.
    await page.fill('#search-input', `fox ${TAG}`);
    await page.click('#search-submit');
    const hits = page.locator('#search-results li');
    await waitFor('two fox hits', async () => ((await hits.count()) === 2 ? true : undefined), 10_000);
    expect(await hits.locator('.text').allTextContents()).toEqual([`the quick brown fox jumps ${TAG}`, `an older fox sighting ${TAG}`]);
    expect(await hits.locator('.author').allTextContents()).toEqual([bob.user.username, bob.user.username]);
    expect(await hits.locator('.room-name').allTextContents()).toEqual(['Fox den', 'Fox den']);
    expect(await hits.first().locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.locator('#search-results').textContent()).not.toContain('secret');
    expect(await page.locator(`#search-results a[href="/r/${secret.body.room.id}"]`).count()).toBe(0);
    expect(await page.locator('#search-summary').textContent()).toBe(`2 matches for “fox ${TAG}”`);

    // The lobby with rooms, a badge and search results: accessible, and the README's picture.
    expect(await seriousA11yViolations(page)).toEqual([]);
    await screenshot(page, 'rooms');

    await page.fill('#search-input', `zebra${TAG}`);
    await page.click('#search-submit');
    await waitFor('"No matches"', async () => ((await page.locator('#search-summary').textContent()) === `No matches for “zebra${TAG}”` ? true : undefined), 10_000);
    expect(await hits.count()).toBe(0);

    await page.fill('#search-input', '   ');
    await page.click('#search-submit');
    await expect(page.locator('#error-text').textContent()).resolves.toBe('invalid: type a word to search for');

    await page.fill('#search-input', `fox ${TAG}`);
    await page.click('#search-submit');
    await waitFor('two fox hits again', async () => ((await hits.count()) === 2 ? true : undefined), 10_000);
    await hits.first().locator(`a[href="/r/${rooms.public}"]`).click();
    await page.waitForURL(`${stack.apiUrl}/r/${rooms.public}`);
    await page.waitForSelector('#room-view');
    await backToLobby();
  });

  it('pages "My rooms" with Load more when there are more than one page', async () => {
    // 55 rooms: more than the lobby's page of 50.
    const many = await api.register('many');
    for (let i = 0; i < 55; i++) await api.createRoom(many.token, `room ${String(i).padStart(2, '0')}`);
    const other = await openPerson(browser, `${stack.apiUrl}/`);
    try {
      // Signed in as `many` the way the app keeps a session (apps/web/src/session.ts).
      await other.page.evaluate(`localStorage.setItem('durable-rooms.token', ${JSON.stringify(many.token)}); localStorage.setItem('durable-rooms.user', ${JSON.stringify(JSON.stringify(many.user))})`);
      await other.page.reload();
      await other.page.waitForSelector('#lobby-view');
      const items = other.page.locator('#my-rooms li');
      await waitFor('the first page', async () => ((await items.count()) === 50 ? true : undefined), 10_000);
      expect(await items.first().locator('a.room-link').textContent()).toBe('room 54');
      await other.page.click('#more-rooms');
      await waitFor('the second page', async () => ((await items.count()) === 55 ? true : undefined), 10_000);
      expect(await items.last().locator('a.room-link').textContent()).toBe('room 00');
      expect(await other.page.locator('#more-rooms').isHidden()).toBe(true);
      // The 5 s refresh keeps both pages.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(await items.count()).toBe(55);
      expect(scriptErrors(other)).toEqual([]);
    } finally {
      await other.page.context().close();
    }
  });

  it('keeps a shared link through sign-in, and a reload keeps the user signed in', async () => {
    const guest = await openPerson(browser, `${stack.apiUrl}/r/${rooms.public}`);
    try {
      await guest.page.waitForSelector('#auth-view');
      expect(new URL(guest.page.url()).pathname).toBe(`/r/${rooms.public}`);
      await signUp(guest.page, `guest_${randomUUID().slice(0, 8)}`);
      await guest.page.waitForSelector('#room-view');
      expect(new URL(guest.page.url()).pathname).toBe(`/r/${rooms.public}`);

      await guest.page.reload();
      await guest.page.waitForSelector('#room-view');
      expect(await guest.page.locator('#auth-view').count()).toBe(0);
      expect(new URL(guest.page.url()).pathname).toBe(`/r/${rooms.public}`);
      expect(scriptErrors(guest)).toEqual([]);
    } finally {
      await guest.page.context().close();
    }
  });

  it('had no script errors in the main page', () => {
    expect(scriptErrors(person)).toEqual([]);
  });
});
