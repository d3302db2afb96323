/**
 * Real Chromium for the browser suites: Debian's /usr/bin/chromium driven by playwright-core.
 * `npm test` installs Chromium when it is missing (scripts/ensure-test-tools.sh); when it is
 * still missing, `launchChromium` fails with the command to run. A browser suite never skips.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the runs write the screenshots of the main views (the README shows them). */
export const SCREENSHOT_DIR = join(__dirname, '..', '..', 'docs', 'screenshots');

/** Flags for this machine: no GPU, no sandbox as root, no calls home on a closed network. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser suite needs Chromium at ${CHROMIUM}: run  sudo apt-get update && sudo apt-get install -y chromium  (npm test does this itself when run as root)`);
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** A page in its own browser context (its own localStorage: one person), with its errors collected. */
export interface PersonPage {
  page: Page;
  /** Uncaught script errors and console errors of the page. */
  errors: string[];
}

export async function openPerson(browser: Browser, url: string): Promise<PersonPage> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.setDefaultTimeout(20_000);
  await page.goto(url);
  return { page, errors };
}

/**
 * The page's own script errors: failed handshakes to a killed gateway or a refused resource are
 * logged by Chromium as console errors too, and are expected in fault tests.
 */
export function scriptErrors(person: PersonPage): string[] {
  return person.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e));
}

/** Signs up through the page's form (#auth-username, #auth-password, #register). */
export async function signUp(page: Page, username: string, password = 'correct-horse-battery'): Promise<void> {
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', password);
  await page.click('#register');
  await page.waitForSelector('#auth-view', { state: 'detached' });
}

/** Signs in through the page's form (#login). */
export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.fill('#auth-username', username);
  await page.fill('#auth-password', password);
  await page.click('#login');
  await page.waitForSelector('#auth-view', { state: 'detached' });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2 A and AA rules) in the page and returns the serious and critical
 * violations, each with the selectors of the offending nodes, so a failure names what to fix.
 */
export async function seriousA11yViolations(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Through the DevTools protocol: the app's CSP (rightly) refuses an injected inline script.
  if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.evaluate(source);
  const violations = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Writes docs/screenshots/<name>.png (the README shows them). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
