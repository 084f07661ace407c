import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ManualClock } from '../../src/clock.ts';
import { defaultConnections } from '../../src/ofauth/simulator/store.ts';
import { buildTestApp, T0, type TestApp } from '../helpers/app.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { defaultSyncSettings } from '../helpers/sync.ts';

/** Debian's chromium (a test tool's own browser download cannot work here); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where every page's screenshot goes (named in the README). */
export const SCREENSHOTS_DIR = join(import.meta.dirname, '..', '..', 'test-results', 'screenshots');

/** Fails plainly, never skips: a machine without Chromium must not pass the browser tests silently. */
export function assertChromiumInstalled(): void {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the dashboard's browser tests need it. ` +
        'Install it with `apt-get install -y chromium` (.ci/run does), or set CHROMIUM_PATH.',
    );
  }
}

export interface BrowserHarness {
  t: TestApp;
  sim: StartedSimulator;
  clock: ManualClock;
  url: string;
  context: BrowserContext;
  page: Page;
  /** Another browser profile, with its own cookies (a second person). */
  newPerson(): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

async function launch(): Promise<{ context: BrowserContext; dispose(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'fanout-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    // --user-data-dir is the fresh profile above (Playwright passes it itself).
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timezoneId: 'Europe/Berlin',
    locale: 'en-GB',
  });
  return {
    context,
    async dispose() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A whole Fanout on a real port in sandbox mode, syncing to the OFAuth simulator over loopback,
 * on one manual clock that the test moves (the simulator's messages follow it), and a headless
 * Chromium with a fresh profile pointed at it. Nothing runs on a timer: the test drives the
 * sync and stats passes itself.
 */
export async function startBrowserHarness(): Promise<BrowserHarness> {
  assertChromiumInstalled();
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const clock = new ManualClock(T0);
  // The sandbox connection with the factory's lists too (campaignBody names 1201 and 1305): a create
  // naming a list OFAuth does not have is refused.
  const [sandbox] = defaultConnections;
  const connections = [{ ...sandbox!, lists: [...(sandbox!.lists ?? []), { id: 1201, name: 'Spring buyers', size: 400 }, { id: 1305, name: 'Refunded', size: 12 }] }];
  const sim = await startSimulator({ clock, rateLimit: false, sendDurationMs: 60_000, connections });
  const client = fastClientFor(sim);
  const t = await buildTestApp({
    clock,
    client,
    syncSettings: defaultSyncSettings,
    statsSettings: { budget: 0.3, trackDays: 7, cycleMs: 60_000, rateCapacity: 1_000, refillPerSecond: 1_000 },
  });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const people = [await launch()];
  const page = people[0]!.context.pages()[0] ?? (await people[0]!.context.newPage());
  // Destructive actions ask first; the person says yes.
  const acceptDialogs = (p: Page) => p.on('dialog', (dialog) => void dialog.accept());
  acceptDialogs(page);
  return {
    t,
    sim,
    clock,
    url,
    context: people[0]!.context,
    page,
    async newPerson() {
      const person = await launch();
      people.push(person);
      const p = person.context.pages()[0] ?? (await person.context.newPage());
      acceptDialogs(p);
      return { context: person.context, page: p };
    },
    async close() {
      await Promise.all(people.map((p) => p.dispose()));
      await t.close();
      await sim.close();
    },
  };
}

/** axe-core's serious and critical findings on the page as it is now (WCAG 2.1 A and AA). */
export async function seriousViolations(page: Page): Promise<Array<{ id: string; impact: string; nodes: string[] }>> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact!, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

/**
 * Loads a page with the browser cache off and returns the bytes that crossed the wire for it
 * (headers and encoded bodies of the document and everything it loaded).
 */
export async function pageWeight(page: Page, url: string): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const sizes: Array<Promise<number>> = [];
  const onFinished = (request: import('playwright-core').Request) => {
    sizes.push(request.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
  };
  page.on('requestfinished', onFinished);
  try {
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForLoadState('networkidle');
    return (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  } finally {
    page.off('requestfinished', onFinished);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    await cdp.detach();
  }
}
