import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, T0, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';
import { campaignForm, DashboardClient } from './support.ts';

const HOUR = 3_600_000;

describe('dashboard pages', () => {
  let t: TestApp;
  let browser: DashboardClient;
  beforeEach(async () => {
    t = await buildTestApp({ env: { SESSION_TTL: '2h' } });
    browser = new DashboardClient(t.app);
  });
  afterEach(async () => {
    await t.close();
  });

  describe('signing in', () => {
    it('sends a visitor without a session to the sign-in page, remembering where they were going', async () => {
      expect((await browser.get('/')).headers.location).toBe('/sign-in');
      for (const url of ['/calendar', '/campaigns', '/campaigns/new', '/overview', '/tokens', '/settings']) {
        const res = await browser.get(url);
        expect(res.statusCode, url).toBe(303);
        expect(res.headers.location).toBe(`/sign-in?next=${encodeURIComponent(url)}`);
      }
      const page = await browser.get('/sign-in');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<label for="token">Token</label>');
    });

    it('exchanges a token for a sealed HttpOnly SameSite cookie that holds neither the token nor its hash', async () => {
      await browser.get('/sign-in');
      const res = await browser.post('/sign-in', { token: TEST_ADMIN_TOKEN, timeZone: 'Europe/Berlin', next: '/campaigns' });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/campaigns');
      const setCookie = String(res.headers['set-cookie']);
      expect(setCookie).toMatch(/^fanout_session=/);
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Lax/);
      expect(decodeURIComponent(setCookie)).not.toContain(TEST_ADMIN_TOKEN);
      const page = await browser.get('/campaigns');
      expect(page.statusCode).toBe(200);
      expect(page.body).not.toContain(TEST_ADMIN_TOKEN);
      expect(page.body).toContain('Europe/Berlin');
    });

    it('refuses an unknown token without echoing it back, and starts no session', async () => {
      await browser.get('/sign-in');
      const res = await browser.post('/sign-in', { token: 'fo_not-a-real-token-at-all', timeZone: 'UTC' });
      expect(res.statusCode).toBe(401);
      expect(res.body).toContain('That token is not valid');
      expect(res.body).not.toContain('fo_not-a-real-token-at-all');
      expect((await browser.get('/calendar')).statusCode).toBe(303);
    });

    it('only returns to a path on this site after signing in', async () => {
      await browser.get('/sign-in');
      const res = await browser.post('/sign-in', { token: TEST_ADMIN_TOKEN, timeZone: 'UTC', next: '//evil.example/x' });
      expect(res.headers.location).toBe('/calendar');
    });

    it('signs out: the cookie is cleared and the pages are closed again', async () => {
      await browser.signIn(TEST_ADMIN_TOKEN);
      const res = await browser.post('/sign-out', {});
      expect(res.statusCode).toBe(303);
      expect(String(res.headers['set-cookie'])).toMatch(/Max-Age=0/);
      expect((await browser.get('/calendar')).statusCode).toBe(303);
    });

    it('ends the session when its time is up, by the service clock', async () => {
      await browser.signIn(TEST_ADMIN_TOKEN);
      t.clock.advance(2 * HOUR - 1_000);
      expect((await browser.get('/campaigns')).statusCode).toBe(200);
      t.clock.advance(1_000);
      const res = await browser.get('/campaigns');
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/sign-in?next=%2Fcampaigns');
    });

    it('ends the session when its token is revoked', async () => {
      const marketer = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer' });
      await browser.signIn(marketer.secret);
      expect((await browser.get('/campaigns')).statusCode).toBe(200);
      await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${marketer.id}`, headers: t.admin });
      expect((await browser.get('/campaigns')).statusCode).toBe(303);
    });
  });

  describe('CSRF', () => {
    it('refuses a sign-in form not sent from the sign-in page', async () => {
      const res = await browser.post('/sign-in', { _csrf: null, token: TEST_ADMIN_TOKEN, timeZone: 'UTC' });
      expect(res.statusCode).toBe(403);
      expect((await browser.get('/calendar')).statusCode).toBe(303);
    });

    it('refuses an action without the page\'s token (or with a forged one) and changes nothing', async () => {
      const campaign = await createCampaign(t.app, t.admin, campaignBody(T0));
      await browser.signIn(TEST_ADMIN_TOKEN);
      for (const _csrf of [null, 'forged-token']) {
        const res = await browser.post(`/campaigns/${campaign.id}/cancel`, { _csrf });
        expect(res.statusCode).toBe(403);
        expect(res.body).toContain('Form expired');
      }
      expect((await t.services.campaigns.get({ tokenId: 't', name: 'x', role: 'admin', connectionIds: null }, campaign.id)).status).toBe('scheduled');
      // With the token the same action goes through.
      await browser.get(`/campaigns/${campaign.id}`);
      const done = await browser.post(`/campaigns/${campaign.id}/cancel`, {});
      expect(done.statusCode).toBe(303);
      expect((await browser.get(String(done.headers.location))).body).toContain('Campaign canceled.');
    });

    it('refuses sign-out without the token', async () => {
      await browser.signIn(TEST_ADMIN_TOKEN);
      expect((await browser.post('/sign-out', { _csrf: null })).statusCode).toBe(403);
      expect((await browser.get('/campaigns')).statusCode).toBe(200);
    });
  });

  describe('scope', () => {
    it('shows a marketer only its connections, and answers 404 for another connection\'s campaign', async () => {
      const own = await createCampaign(t.app, t.admin, campaignBody(T0, { name: 'Own drop', connectionId: 'conn_a' }));
      const other = await createCampaign(t.app, t.admin, campaignBody(T0, { name: 'Other drop', connectionId: 'conn_b' }));
      const marketer = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer', connectionIds: ['conn_a'] });
      await browser.signIn(marketer.secret);

      const list = await browser.get('/campaigns');
      expect(list.body).toContain('Own drop');
      expect(list.body).not.toContain('Other drop');
      const calendar = await browser.get('/calendar?date=2030-01-01');
      expect(calendar.body).toContain('Own drop');
      expect(calendar.body).not.toContain('Other drop');
      expect((await browser.get(`/campaigns/${own.id}`)).statusCode).toBe(200);
      const hidden = await browser.get(`/campaigns/${other.id}`);
      expect(hidden.statusCode).toBe(404);
      expect(hidden.body).not.toContain('Other drop');
      expect((await browser.post(`/campaigns/${other.id}/cancel`, {})).statusCode).toBe(404);
      expect((await browser.get(`/campaigns?connection=conn_b`)).body).not.toContain('Other drop');
    });

    it('keeps the tokens page for admins', async () => {
      const marketer = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer' });
      await browser.signIn(marketer.secret);
      expect((await browser.get('/tokens')).statusCode).toBe(403);
      expect((await browser.post('/tokens', { name: 'mine', role: 'admin', connectionIds: '' })).statusCode).toBe(403);
      expect((await browser.get('/calendar')).body).not.toContain('href="/tokens"');
    });
  });

  describe('pages', () => {
    it('renders every page for an admin', async () => {
      const campaign = await createCampaign(t.app, t.admin, campaignBody(T0));
      await browser.signIn(TEST_ADMIN_TOKEN);
      for (const url of ['/calendar', '/calendar?view=month', '/campaigns', '/campaigns/new', `/campaigns/${campaign.id}`, `/campaigns/${campaign.id}/edit`, '/overview', '/tokens', '/settings']) {
        const res = await browser.get(url);
        expect(res.statusCode, url).toBe(200);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.headers['content-security-policy']).toContain("default-src 'self'");
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    it('places a send on its day and hour in the marketer\'s time zone', async () => {
      // 23:30 UTC on 1 January is 08:30 on 2 January in Tokyo.
      await createCampaign(t.app, t.admin, campaignBody(T0, { name: 'Late drop', scheduledAt: '2030-01-01T23:30:00Z' }));
      await browser.signIn(TEST_ADMIN_TOKEN, 'Asia/Tokyo');
      const page = await browser.get('/calendar?date=2030-01-02');
      const day = /<section class="day[^"]*" aria-labelledby="d-2030-01-02">([\s\S]*?)<\/section>/.exec(page.body)?.[1] ?? '';
      expect(day).toContain('Late drop');
      expect(day).toContain('<time datetime="2030-01-01T23:30:00.000Z">08:30</time>');
    });

    it('shows a running series ahead of its sends as planned occurrences, within its ends and scope', async () => {
      const recurrence = { cron: '0 9 * * *', timezone: 'UTC', maxOccurrences: 3 };
      await createCampaign(t.app, t.admin, campaignBody(T0, { name: 'Morning tease', scheduledAt: null, recurrence, connectionId: 'conn_a' }));
      await createCampaign(t.app, t.admin, campaignBody(T0, { name: 'Other series', scheduledAt: null, recurrence, connectionId: 'conn_b' }));
      const marketer = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer', connectionIds: ['conn_a'] });
      await browser.signIn(marketer.secret);

      const page = await browser.get('/calendar?date=2030-01-01');
      const day = (date: string) => new RegExp(`<section class="day[^"]*" aria-labelledby="d-${date}">([\\s\\S]*?)</section>`).exec(page.body)?.[1] ?? '';
      // No occurrence is a send yet (each becomes one RECURRENCE_LEAD before its time): the three
      // of maxOccurrences are planned on 2, 3 and 4 January at 09:00, and none after.
      for (const date of ['2030-01-02', '2030-01-03', '2030-01-04']) {
        expect(day(date)).toContain('Morning tease');
        expect(day(date)).toMatch(/class="entry s-planned"[\s\S]*?<time datetime="\d{4}-\d\d-\d\dT09:00:00.000Z">09:00<\/time>/);
      }
      expect(day('2030-01-01')).not.toContain('Morning tease');
      expect(day('2030-01-05')).not.toContain('Morning tease');
      expect(page.body).not.toContain('Other series');
    });

    it('lists campaigns with filters, a name search and keyset pages', async () => {
      for (let i = 0; i < 27; i++) {
        t.clock.advance(1);
        await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { name: `Drop ${i}` }));
      }
      await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { name: 'Spring sale', status: 'draft' }));
      await browser.signIn(TEST_ADMIN_TOKEN);
      const first = await browser.get('/campaigns');
      expect(first.body.match(/<tr>\s*<th scope="row">/g)).toHaveLength(25);
      const next = /href="(\/campaigns\?cursor=[^"]+)" rel="next"/.exec(first.body)![1]!.replaceAll('&amp;', '&');
      const second = await browser.get(next);
      expect(second.body.match(/<tr>\s*<th scope="row">/g)).toHaveLength(3);
      expect(second.body).toContain('Drop 0');
      const search = await browser.get('/campaigns?q=spring');
      expect(search.body).toContain('Spring sale');
      expect(search.body).not.toContain('Drop 1');
      const drafts = await browser.get('/campaigns?status=draft');
      expect(drafts.body.match(/<tr>\s*<th scope="row">/g)).toHaveLength(1);
    });
  });

  describe('the campaign form', () => {
    it('shows the API\'s problem next to the field it names, keeps every value, then saves the fixed form', async () => {
      await browser.signIn(TEST_ADMIN_TOKEN);
      await browser.get('/campaigns/new');
      const refused = await browser.post('/campaigns/new', campaignForm({ price: '1.50', text: 'Keep me <b>' }));
      expect(refused.statusCode).toBe(400);
      expect(refused.body).toMatch(/id="f-price"[^>]*aria-invalid="true"/);
      expect(refused.body).toContain('<p class="error" id="f-price-error">price must be 0 (free) or between 3 and 200</p>');
      expect(refused.body).toContain('value="Friday PPV drop"');
      expect(refused.body).toContain('Keep me &lt;b&gt;</textarea>');
      expect(refused.body).toContain('value="2030-01-02T18:00"');
      expect((await t.services.campaigns.list({ tokenId: 't', name: 'x', role: 'admin', connectionIds: null }, { limit: 10 })).items).toHaveLength(0);

      const saved = await browser.post('/campaigns/new', campaignForm({ price: '9.99' }));
      expect(saved.statusCode).toBe(303);
      const id = /^\/campaigns\/(cmp_\w+)\?notice=created$/.exec(String(saved.headers.location))![1]!;
      const campaign = await t.services.campaigns.get({ tokenId: 't', name: 'x', role: 'admin', connectionIds: null }, id);
      expect(campaign).toMatchObject({
        name: 'Friday PPV drop',
        status: 'scheduled',
        // 18:00 in Berlin (UTC+1 in January).
        scheduledAt: '2030-01-02T17:00:00.000Z',
        message: { text: 'New set drops tonight', mediaItems: [4211], price: 9.99, previewMediaCount: 1 },
        audience: { userLists: [1, 3], excludeUserLists: [4], userIds: [] },
      });
      // A second submit of the same form (a double click) is the same campaign.
      const again = await browser.post('/campaigns/new', campaignForm({ price: '9.99' }));
      expect(again.headers.location).toBe(saved.headers.location);
    });

    it('names the service\'s own refusals too (a send time in the past, a series too frequent)', async () => {
      await browser.signIn(TEST_ADMIN_TOKEN);
      const past = await browser.post('/campaigns/new', campaignForm({ scheduledAt: '2029-12-31T10:00' }));
      expect(past.statusCode).toBe(400);
      expect(past.body).toContain('<p class="error" id="f-at-error">must be in the future</p>');
      const series = await browser.post('/campaigns/new', campaignForm({ scheduleKind: 'series', cron: '*/5 * * * *', scheduledAt: '' }));
      expect(series.statusCode).toBe(400);
      expect(series.body).toMatch(/id="f-cron"[^>]*aria-invalid="true"/);
    });

    it('edits a campaign, leaving an unchanged time alone', async () => {
      const campaign = await createCampaign(t.app, t.admin, campaignBody(T0, { scheduledAt: new Date(T0 + HOUR + 30_500).toISOString() }));
      await browser.signIn(TEST_ADMIN_TOKEN);
      const form = await browser.get(`/campaigns/${campaign.id}/edit`);
      expect(form.body).toContain('value="Friday PPV drop"');
      const zone = 'UTC';
      const res = await browser.post(`/campaigns/${campaign.id}/edit`, campaignForm({ name: 'Renamed drop', scheduledAt: '2030-01-01T13:00', timeZone: zone, userLists: '1201', excludeUserLists: '1305', mediaItems: '4211' }));
      expect(res.statusCode).toBe(303);
      const after = await t.services.campaigns.get({ tokenId: 't', name: 'x', role: 'admin', connectionIds: null }, campaign.id);
      expect(after.name).toBe('Renamed drop');
      expect(after.scheduledAt).toBe(campaign.scheduledAt);
    });
  });

  describe('tokens', () => {
    it('creates a token showing its secret once, lists it, and revokes it', async () => {
      await browser.signIn(TEST_ADMIN_TOKEN);
      await browser.get('/tokens');
      const created = await browser.post('/tokens', { name: 'bob@agency', role: 'marketer', connectionIds: 'conn_a, conn_b' });
      expect(created.statusCode).toBe(201);
      const secret = /id="new-secret" value="(fo_[^"]+)"/.exec(created.body)![1]!;
      expect(await t.services.tokens.authenticate(secret)).toMatchObject({ name: 'bob@agency', connectionIds: ['conn_a', 'conn_b'] });
      const list = await browser.get('/tokens');
      expect(list.body).toContain('bob@agency');
      expect(list.body).not.toContain(secret);
      const id = (await t.services.tokens.list()).find((tk) => tk.name === 'bob@agency')!.id;
      expect((await browser.post(`/tokens/${id}/revoke`, {})).headers.location).toBe('/tokens?notice=revoked');
      expect(await t.services.tokens.authenticate(secret)).toBeNull();
    });
  });

  describe('beside the API', () => {
    it('leaves the API as it was: JSON only, and no page in the OpenAPI document', async () => {
      const form = await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x' });
      expect(form.statusCode).toBe(415);
      const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/') && !['/health', '/metrics'].includes(p))).toEqual([]);
    });

    it('is not served in live mode without SESSION_SECRET', async () => {
      const live = await buildTestApp({ env: { OFAUTH_API_KEY: 'live-key-1234' } });
      try {
        expect((await live.app.inject({ method: 'GET', url: '/sign-in' })).statusCode).toBe(404);
        expect((await live.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
      } finally {
        await live.close();
      }
    });
  });
});
