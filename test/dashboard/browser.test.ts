/// <reference lib="dom" />
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';
import { pageWeight, SCREENSHOTS_DIR, seriousViolations, startBrowserHarness, type BrowserHarness } from './browser-support.ts';

/*
 * The dashboard in a real browser: headless Chromium (Debian's) driven by playwright-core,
 * against a whole Fanout on a real port. Time and the loops are driven by the test through its
 * own Fanout instance (sync pass, stats pass, manual clock), never by waiting on wall time;
 * Playwright's auto-waiting locators do the rest.
 */

const MINUTE = 60_000;
const MAX_PAGE_BYTES = 300 * 1024;

async function signIn(page: Page, url: string, secret: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForURL('**/sign-in');
  // By keyboard, as a person without a mouse would.
  await page.getByLabel('Token', { exact: true }).focus();
  await page.keyboard.type(secret);
  await page.getByLabel('Your time zone', { exact: true }).selectOption('Europe/Berlin');
  await page.getByLabel('Token', { exact: true }).press('Enter');
  await page.waitForURL('**/calendar');
}

/** The sync pass, then the poller at moments through sending and after: the counts grow, snapshot by snapshot. */
async function driveToSent(h: BrowserHarness): Promise<void> {
  await h.t.fanout.syncOnce();
  for (const step of [30_000, 2 * MINUTE, 10 * MINUTE, 30 * MINUTE, 60 * MINUTE]) {
    h.clock.advance(step);
    await h.t.fanout.statsPoller.pollOnce();
  }
}

const figure = (page: Page, name: string) => page.locator(`[data-figure="${name}"]`).innerText();

/** How many pixels of the chart's canvas are painted: more than the axes alone. */
async function paintedPixels(page: Page): Promise<number> {
  const canvas = page.locator('.chart canvas').first();
  await canvas.waitFor();
  return canvas.evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
    return painted;
  });
}

describe('the dashboard in Chromium', () => {
  let h: BrowserHarness;
  beforeEach(async () => {
    h = await startBrowserHarness();
  }, 60_000);
  afterEach(async () => {
    await h?.close();
  });

  it('signs in, creates a campaign fixing one error, watches it reach sent with its chart, pauses and resumes a series, signs out', async () => {
    const { page, url } = h;
    await signIn(page, url, TEST_ADMIN_TOKEN);

    // A new one-shot campaign, with a price OFAuth would refuse.
    await page.getByRole('link', { name: 'New campaign' }).first().click();
    await page.getByLabel('Name', { exact: true }).fill('Friday PPV drop');
    await page.getByLabel('Connection', { exact: true }).fill('conn_sandbox');
    await page.getByLabel('Text', { exact: true }).fill('New set drops tonight 🔥');
    await page.getByLabel('Media', { exact: true }).fill('4211');
    await page.getByLabel('Price (USD)', { exact: true }).fill('1');
    await page.getByLabel('Free preview media', { exact: true }).fill('1');
    await page.getByLabel('Lists', { exact: true }).fill('1, 3');
    await page.getByLabel('Excluded lists', { exact: true }).fill('4');
    await page.getByLabel('As soon as synced', { exact: true }).check();
    await page.getByRole('button', { name: 'Save and schedule' }).click();

    const priceError = page.locator('#f-price-error');
    await priceError.waitFor();
    expect(await priceError.innerText()).toContain('between 3 and 200');
    expect(await page.getByLabel('Price (USD)', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    // Nothing lost: every other field is as typed.
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('Friday PPV drop');
    expect(await page.getByLabel('Text', { exact: true }).inputValue()).toBe('New set drops tonight 🔥');
    expect(await page.getByLabel('Lists', { exact: true }).inputValue()).toBe('1, 3');
    expect(await page.getByLabel('As soon as synced', { exact: true }).isChecked()).toBe(true);
    // The summary at the top links to the field.
    await page.getByRole('link', { name: /between 3 and 200/ }).click();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-price');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('9.99');
    await page.getByRole('button', { name: 'Save and schedule' }).click();
    await page.waitForURL(/\/campaigns\/cmp_\w+\?notice=created$/);
    const campaignUrl = page.url().split('?')[0]!;
    expect(await page.locator('h1 .status').innerText()).toBe('scheduled');

    // The loops run (driven here, not waited for); the page shows the outcome.
    await driveToSent(h);
    await page.goto(campaignUrl);
    expect(await page.locator('h1 .status').innerText()).toBe('sent');
    // The simulator's lists: Fans (1,200) + VIP (5) − Muted (25).
    expect(await figure(page, 'sent')).toBe('1,180');
    expect(await figure(page, 'views')).not.toMatch(/^–/);
    expect(await figure(page, 'purchases')).not.toMatch(/^–/);
    expect(await figure(page, 'revenue')).toMatch(/^\$\d/);
    expect(await page.locator('.chart').getAttribute('data-drawn')).toBe('true');
    expect(await paintedPixels(page)).toBeGreaterThan(500);
    await page.screenshot({ path: join(SCREENSHOTS_DIR, 'journey-campaign-sent.png'), fullPage: true });

    // The calendar shows it on its day, coloured as sent.
    await page.getByRole('link', { name: 'Calendar' }).click();
    const entry = page.locator('.entry.s-sent', { hasText: 'Friday PPV drop' });
    await entry.waitFor();

    // A series, paused and resumed.
    await page.getByRole('link', { name: 'New campaign' }).first().click();
    await page.getByLabel('Name', { exact: true }).fill('Friday night series');
    await page.getByLabel('Connection', { exact: true }).fill('conn_sandbox');
    await page.getByLabel('Text', { exact: true }).fill('Every Friday');
    await page.getByLabel('Lists', { exact: true }).fill('1');
    await page.getByLabel('Repeating (a series)', { exact: true }).check();
    await page.getByLabel('Repeats (cron)', { exact: true }).fill('0 20 * * 5');
    await page.getByLabel('In time zone', { exact: true }).selectOption('Europe/Berlin');
    await page.getByRole('button', { name: 'Save and schedule' }).click();
    await page.waitForURL(/\/campaigns\/cmp_\w+\?notice=created$/);
    expect(await page.locator('h1 .status').innerText()).toBe('scheduled');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.notice', { hasText: 'Series paused' }).waitFor();
    expect(await page.locator('h1 .status').innerText()).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.notice', { hasText: 'Series resumed' }).waitFor();
    expect(await page.locator('h1 .status').innerText()).toBe('scheduled');

    // Sign out: the pages close again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL('**/sign-in');
    await page.goto(`${url}/campaigns`);
    await page.waitForURL(/\/sign-in\?next=%2Fcampaigns$/);
    // What is left is the sign-in page's own (CSRF-only) session: HttpOnly and SameSite, like every one.
    const cookies = await h.context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['fanout_session', true, 'Lax']]);
  });

  it('keeps a marketer to its connections: another connection\'s campaign is not found', async () => {
    const own = await createCampaign(h.t.app, h.t.admin, campaignBody(h.clock.now(), { name: 'Sandbox drop' }));
    const other = await createCampaign(h.t.app, h.t.admin, campaignBody(h.clock.now(), { name: 'Other agency drop', connectionId: 'conn_other' }));
    const marketer = await issueToken(h.t.app, h.t.admin, { name: 'alice@agency', role: 'marketer', connectionIds: ['conn_sandbox'] });
    const { page } = await h.newPerson();
    await signIn(page, h.url, marketer.secret);

    await page.goto(`${h.url}/campaigns`);
    await page.getByRole('link', { name: 'Sandbox drop' }).waitFor();
    expect(await page.getByText('Other agency drop').count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Tokens' }).count()).toBe(0);
    const response = await page.goto(`${h.url}/campaigns/${other.id}`);
    expect(response!.status()).toBe(404);
    expect(await page.locator('h1').innerText()).toBe('Not found');
    expect(await page.getByText('Other agency drop').count()).toBe(0);
    expect((await page.goto(`${h.url}/campaigns/${own.id}`))!.status()).toBe(200);
  });

  it('sends a test from a draft\'s page by keyboard, sees it marked as a test, and unsends it', async () => {
    const draft = await createCampaign(h.t.app, h.t.admin, campaignBody(h.clock.now(), { name: 'Draft to try', status: 'draft' }));
    const { page, url } = h;
    await signIn(page, url, TEST_ADMIN_TOKEN);
    await page.goto(`${url}/campaigns/${draft.id}`);

    await page.getByLabel('Fan id', { exact: true }).focus();
    await page.keyboard.type('101');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?notice=test-sent$/);
    await page.locator('.notice', { hasText: 'Test message sent' }).waitFor();
    const row = page.locator('tr.test-send');
    expect(await row.innerText()).toMatch(/Test\s+to fan 101[\s\S]*sent/);
    expect(h.sim.chatMessages()).toMatchObject([{ withUserId: 101 }]);
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Unsend the test to fan 101' }).click();
    await page.locator('.notice', { hasText: 'Message unsent.' }).waitFor();
    expect(await row.locator('.status').innerText()).toBe('unsent');
  });

  it('every page: no serious or critical axe finding, at most 300 KB over the wire, readable on a phone, with a screenshot', async () => {
    const { page, url, t } = h;
    await signIn(page, url, TEST_ADMIN_TOKEN);
    const sent = await createCampaign(t.app, t.admin, campaignBody(h.clock.now(), { name: 'Friday PPV drop', scheduledAt: null, audience: { userLists: [1, 3], excludeUserLists: [4] } }));
    await driveToSent(h);
    await createCampaign(t.app, t.admin, campaignBody(h.clock.now(), { name: 'Weekend teaser', scheduledAt: new Date(h.clock.now() + 26 * 60 * MINUTE).toISOString() }));
    await createCampaign(t.app, t.admin, campaignBody(h.clock.now(), { name: 'Friday night series', scheduledAt: null, recurrence: { cron: '0 20 * * 5', timezone: 'Europe/Berlin' } }));
    await createCampaign(t.app, t.admin, campaignBody(h.clock.now(), { name: 'Draft for Monday', status: 'draft' }));

    const pages: Array<[string, string]> = [
      ['calendar-week', '/calendar'],
      ['calendar-month', '/calendar?view=month'],
      ['campaigns', '/campaigns'],
      ['campaign', `/campaigns/${sent.id}`],
      ['campaign-new', '/campaigns/new'],
      ['campaign-edit', `/campaigns/${(await t.services.campaigns.list({ tokenId: 't', name: 'x', role: 'admin', connectionIds: null }, { limit: 1, status: ['draft'] })).items[0]!.id}/edit`],
      ['overview', '/overview'],
      ['tokens', '/tokens'],
      ['settings', '/settings'],
    ];
    const weights: Record<string, number> = {};
    const findings: Record<string, unknown> = {};
    for (const [name, path] of pages) {
      weights[name] = await pageWeight(page, `${url}${path}`);
      const violations = await seriousViolations(page);
      if (violations.length > 0) findings[name] = violations;
      await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
    }
    // The form refused (its error state), and the sign-in page.
    await page.goto(`${url}/campaigns/new`);
    await page.getByLabel('Name', { exact: true }).fill('Broken');
    await page.getByRole('button', { name: 'Save and schedule' }).click();
    await page.locator('#error-summary').waitFor();
    if ((await seriousViolations(page)).length > 0) findings['campaign-form-errors'] = await seriousViolations(page);
    await page.screenshot({ path: join(SCREENSHOTS_DIR, 'campaign-form-errors.png'), fullPage: true });
    const visitor = await h.newPerson();
    weights['sign-in'] = await pageWeight(visitor.page, `${url}/sign-in`);
    if ((await seriousViolations(visitor.page)).length > 0) findings['sign-in'] = await seriousViolations(visitor.page);
    await visitor.page.screenshot({ path: join(SCREENSHOTS_DIR, 'sign-in.png'), fullPage: true });

    // A phone: nothing wider than the screen, and the same checks.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of [['phone-calendar', '/calendar'], ['phone-campaign', `/campaigns/${sent.id}`], ['phone-campaigns', '/campaigns']] as const) {
      await page.goto(`${url}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${name} scrolls sideways`).toBeLessThanOrEqual(0);
      if ((await seriousViolations(page)).length > 0) findings[name] = await seriousViolations(page);
      await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: true });
    }

    console.log(`dashboard page weights (bytes over the wire, cache off): ${JSON.stringify(weights)}`);
    expect(findings).toEqual({});
    for (const [name, bytes] of Object.entries(weights)) expect(bytes, name).toBeLessThanOrEqual(MAX_PAGE_BYTES);
  });
});
