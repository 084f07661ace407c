import { afterEach, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN } from '../helpers/app.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { issueToken } from '../helpers/tokens.ts';
import { createSimCampaign, sendOf } from '../sync/support.ts';
import { DashboardClient } from './support.ts';

const MINUTE = 60_000;
/** The simulator's defaults: sending takes a minute, and a sent message can be unsent for five. */
const SEND_MS = MINUTE;
const WINDOW_MS = 5 * MINUTE;

/** The campaign page's test send and unsend, against the simulator over loopback HTTP. */
describe('dashboard: test sends and unsends', () => {
  let h: SyncHarness;
  let browser: DashboardClient;
  afterEach(async () => {
    await h.close();
  });

  async function start(env: Record<string, string> = {}) {
    h = await buildSyncHarness({ env });
    browser = new DashboardClient(h.app);
    await browser.signIn(TEST_ADMIN_TOKEN);
  }

  const sendsTable = (html: string) => /<h2 id="h-sends">Sends<\/h2>([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';
  const rowsOf = (html: string) => sendsTable(html).match(/<tr[ >][\s\S]*?<\/tr>/g)?.slice(1) ?? [];
  const apiSends = async (campaignId: string) => (await h.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/sends`, headers: h.admin })).json().items as Array<Record<string, unknown>>;

  describe('test send', () => {
    it('offers a labelled fan id field on a draft, sends the test, and lists it as a test with its status', async () => {
      await start();
      const campaign = await createSimCampaign(h, { status: 'draft' });
      const page = await browser.get(`/campaigns/${campaign.id}`);
      expect(page.body).toContain('<label for="f-test-user">Fan id</label>');
      expect(page.body).toMatch(/<form method="post" action="\/campaigns\/cmp_\w+\/test-send"[^>]*>\s*<input type="hidden" name="_csrf"/);

      const res = await browser.post(`/campaigns/${campaign.id}/test-send`, { userId: '101' });

      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(`/campaigns/${campaign.id}?notice=test-sent`);
      expect(h.sim.chatMessages()).toMatchObject([{ withUserId: 101, text: 'New set drops tonight' }]);
      const after = await browser.get(String(res.headers.location));
      expect(after.body).toContain('Test message sent');
      const [row, ...others] = rowsOf(after.body);
      expect(others).toEqual([]);
      expect(row).toContain('<span class="tag">Test</span> to fan 101');
      expect(row).toContain('<span class="status s-sent">sent</span>');
      expect(await apiSends(campaign.id)).toMatchObject([{ kind: 'test', status: 'sent', testUserId: 101 }]);
    });

    it('shows a refusal from the service next to the field, keeping the fan id, and sends nothing', async () => {
      await start({ TEST_SEND_ALLOWLIST: '101' });
      const campaign = await createSimCampaign(h, { status: 'draft' });
      await browser.get(`/campaigns/${campaign.id}`);

      const refused = await browser.post(`/campaigns/${campaign.id}/test-send`, { userId: '202' });

      expect(refused.statusCode).toBe(403);
      expect(refused.body).toMatch(/id="f-test-user" name="userId" value="202"[^>]*aria-describedby="f-test-user-hint f-test-user-error"[^>]*aria-invalid="true"/);
      expect(refused.body).toContain('<p class="error" id="f-test-user-error">Fan 202 is not in TEST_SEND_ALLOWLIST');
      expect(h.sim.chatMessages()).toEqual([]);
      expect(await apiSends(campaign.id)).toEqual([]);
    });

    it('refuses a fan id that is not one next to the field, before asking the service', async () => {
      await start();
      const campaign = await createSimCampaign(h, { status: 'draft' });
      await browser.get(`/campaigns/${campaign.id}`);

      for (const userId of ['abc', '', '-4', '1.5']) {
        const refused = await browser.post(`/campaigns/${campaign.id}/test-send`, { userId });
        expect(refused.statusCode, userId).toBe(400);
        expect(refused.body).toContain(`value="${userId}"`);
        expect(refused.body).toContain('<p class="error" id="f-test-user-error">expected a fan id: a whole number such as 101</p>');
      }
      expect(h.sim.chatMessages()).toEqual([]);
      expect(await apiSends(campaign.id)).toEqual([]);
    });

    it('is not offered once the campaign went out, and a stale form is refused with a 409 message', async () => {
      await start();
      const campaign = await createSimCampaign(h, { scheduledAt: null });
      await browser.get(`/campaigns/${campaign.id}`);
      await h.reconciler.reconcileOnce();

      const page = await browser.get(`/campaigns/${campaign.id}`);
      expect(page.body).not.toContain('f-test-user');
      const refused = await browser.post(`/campaigns/${campaign.id}/test-send`, { userId: '101' });
      expect(refused.statusCode).toBe(409);
      expect(refused.body).toMatch(/<p class="problem" role="alert">A test send is allowed while the campaign is draft or scheduled; this one is queued\.<\/p>/);
      expect(h.sim.chatMessages()).toEqual([]);
    });

    it('keeps test sends off the calendar: only the campaign\'s own send is a drop there', async () => {
      await start();
      const campaign = await createSimCampaign(h, { name: 'Friday drop', scheduledAt: new Date(h.clock.now() + 3_600_000).toISOString() });
      await browser.get(`/campaigns/${campaign.id}`);
      await browser.post(`/campaigns/${campaign.id}/test-send`, { userId: '101' });
      expect(await apiSends(campaign.id)).toMatchObject([{ kind: 'test', status: 'sent' }, { kind: 'scheduled', status: 'pending' }]);

      const page = await browser.get('/calendar?date=2030-01-01');
      const day = /<section class="day[^"]*" aria-labelledby="d-2030-01-01">([\s\S]*?)<\/section>/.exec(page.body)?.[1] ?? '';
      expect(day.match(/Friday drop/g)).toHaveLength(1);
      expect(day).toContain('<time datetime="2030-01-01T13:00:00.000Z">13:00</time>');
      expect(day).not.toContain('12:00</time>');
      expect(day).not.toContain('s-sent');
    });

    it('needs the page\'s CSRF token, and hides another connection\'s campaign', async () => {
      await start();
      const campaign = await createSimCampaign(h, { status: 'draft' });
      const other = await createSimCampaign(h, { status: 'draft', connectionId: 'conn_other' });
      await browser.get(`/campaigns/${campaign.id}`);
      expect((await browser.post(`/campaigns/${campaign.id}/test-send`, { _csrf: null, userId: '101' })).statusCode).toBe(403);

      const marketer = await issueToken(h.app, h.admin, { name: 'alice', role: 'marketer', connectionIds: [campaign.connectionId] });
      const alice = new DashboardClient(h.app);
      await alice.signIn(marketer.secret);
      expect((await alice.post(`/campaigns/${other.id}/test-send`, { userId: '101' })).statusCode).toBe(404);
      expect(h.sim.chatMessages()).toEqual([]);
    });
  });

  describe('unsend', () => {
    /** A one-shot sent now, and the poller having seen it sent (with its counts and window). */
    async function sentCampaign() {
      const campaign = await createSimCampaign(h, { scheduledAt: null });
      await h.reconciler.reconcileOnce();
      h.clock.advance(SEND_MS + 1_000);
      await h.fanout.statsPoller.pollOnce();
      const send = await sendOf(h, campaign.id);
      expect(send.status).toBe('sent');
      return { campaign, send };
    }

    it('offers Unsend on a sent send inside the window, and unsends it', async () => {
      await start();
      const { campaign, send } = await sentCampaign();
      const page = await browser.get(`/campaigns/${campaign.id}`);
      const [row] = rowsOf(page.body);
      expect(row).toContain(`action="/sends/${send.id}/unsend"`);
      expect(row).toMatch(/<button type="submit" class="danger" aria-label="Unsend the send of [^"]+">Unsend<\/button>/);

      const res = await browser.post(`/sends/${send.id}/unsend`, {});

      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe(`/campaigns/${campaign.id}?notice=unsent`);
      expect(h.sim.messages()).toMatchObject([{ state: 'unsent' }]);
      const after = await browser.get(String(res.headers.location));
      expect(after.body).toContain('Message unsent.');
      expect(rowsOf(after.body)[0]).toContain('<span class="status s-unsent">unsent</span>');
      expect(rowsOf(after.body)[0]).not.toContain('/unsend"');
    });

    it('stops offering it once the window closed, and a stale button is a 409 saying so, calling nothing', async () => {
      await start();
      const { campaign, send } = await sentCampaign();
      expect((await browser.get(`/campaigns/${campaign.id}`)).body).toContain(`/sends/${send.id}/unsend`);
      h.clock.advance(WINDOW_MS);
      await h.fanout.statsPoller.pollOnce();

      expect((await browser.get(`/campaigns/${campaign.id}`)).body).not.toContain(`/sends/${send.id}/unsend`);
      const refused = await browser.post(`/sends/${send.id}/unsend`, {});

      expect(refused.statusCode).toBe(409);
      expect(refused.body).toMatch(/<p class="problem" role="alert">Send snd_\w+ is outside OFAuth&#39;s unsend window: it closed at /);
      expect(Object.keys(h.sim.requestCounts()).filter((k) => k.startsWith('DELETE '))).toEqual([]);
      expect((await sendOf(h, campaign.id)).status).toBe('sent');
    });

    it('offers no Unsend before the send went out; a forced one is a 409 message', async () => {
      await start();
      const campaign = await createSimCampaign(h);
      await h.reconciler.reconcileOnce();
      const send = await sendOf(h, campaign.id);
      const page = await browser.get(`/campaigns/${campaign.id}`);
      expect(page.body).not.toContain('/unsend"');

      const refused = await browser.post(`/sends/${send.id}/unsend`, {});
      expect(refused.statusCode).toBe(409);
      expect(refused.body).toContain(`Only a sent message can be unsent; send ${send.id} is queued.`);
    });

    it('unsends a test send, marked as a test in the table', async () => {
      await start();
      const campaign = await createSimCampaign(h, { status: 'draft' });
      await browser.get(`/campaigns/${campaign.id}`);
      await browser.post(`/campaigns/${campaign.id}/test-send`, { userId: '101' });
      const [test] = await apiSends(campaign.id);
      const page = await browser.get(`/campaigns/${campaign.id}`);
      const [row] = rowsOf(page.body);
      expect(row).toMatch(/^<tr class="test-send">/);
      expect(row).toContain('aria-label="Unsend the test to fan 101"');

      const res = await browser.post(`/sends/${test!.id}/unsend`, {});

      expect(res.headers.location).toBe(`/campaigns/${campaign.id}?notice=unsent`);
      expect(h.sim.chatMessages()).toMatchObject([{ withUserId: 101, unsentAt: new Date(h.clock.now()).toISOString() }]);
    });

    it('needs the CSRF token and answers 404 for a send out of scope', async () => {
      await start();
      const { send } = await sentCampaign();
      expect((await browser.post(`/sends/${send.id}/unsend`, { _csrf: null })).statusCode).toBe(403);
      const marketer = await issueToken(h.app, h.admin, { name: 'alice', role: 'marketer', connectionIds: ['conn_other'] });
      const alice = new DashboardClient(h.app);
      await alice.signIn(marketer.secret);
      expect((await alice.post(`/sends/${send.id}/unsend`, {})).statusCode).toBe(404);
      expect((await sendOf(h, send.campaignId)).status).toBe('sent');
    });
  });
});
