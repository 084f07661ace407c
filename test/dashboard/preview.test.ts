import { afterEach, describe, expect, it } from 'vitest';
import type { SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign } from '../sync/support.ts';
import { ADMIN_PRINCIPAL, campaignForm, DashboardClient, signedInAdmin } from './support.ts';

const admin = ADMIN_PRINCIPAL;

/** The form's Preview (the audience service's preview, nothing stored) and a save's overlap warnings. */
describe('dashboard: preview and overlap warnings', () => {
  let h: SyncHarness;
  let browser: DashboardClient;
  afterEach(async () => {
    await h.close();
  });

  async function start() {
    ({ h, browser } = await signedInAdmin());
  }

  /** 18:00 in Berlin on 2 January 2030, the time campaignForm() asks for. */
  const FORM_TIME = '2030-01-02T17:00:00.000Z';
  const previewOf = (html: string) => /<section class="card preview" id="preview"[^>]*>([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  const warningsOf = (html: string) => /<section class="warnings"[^>]*>([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';

  it('previews the estimated audience, an upper bound when sources may overlap, and the overlapping sends, saving nothing', async () => {
    await start();
    const other = await createSimCampaign(h, { name: 'Thursday tease', audience: { userLists: [1] }, scheduledAt: FORM_TIME });
    const before = await h.rows.snapshot();
    await browser.get('/campaigns/new');

    const res = await browser.post('/campaigns/new', { ...campaignForm({ userIds: '7, 8', intent: 'preview' }), userLists: ['1', '3'], excludeUserLists: ['4'] });

    expect(res.statusCode).toBe(200);
    const preview = previewOf(res.body);
    expect(preview).toContain('Estimated audience: <strong data-figure="estimate">1,207 fans</strong>, an <strong>upper bound</strong>');
    expect(preview).toContain('<dt>Lists</dt><dd>Fans (1,200), VIP (5)</dd>');
    expect(preview).toContain('<dt>Excluded lists</dt><dd>Muted (25)</dd>');
    expect(preview).toContain(`<a href="/campaigns/${other.id}">Thursday tease</a>`);
    expect(preview).toContain('(pending): shares list 1.');
    // The form comes back as posted, its lists now ticked by name.
    expect(res.body).toContain('id="f-list-3" name="userLists" value="3" checked');
    expect(res.body).toContain('name="userIds" value="7, 8"');
    expect(await h.rows.snapshot()).toEqual(before);
  });

  it('says it is exact for one list, and incomplete while chat filters are unresolved', async () => {
    await start();
    const exact = await browser.post('/campaigns/new', { ...campaignForm({ intent: 'preview' }), userLists: ['3'], excludeUserLists: [] });
    expect(previewOf(exact.body)).toContain('<strong data-figure="estimate">5 fans</strong>.');
    expect(previewOf(exact.body)).not.toContain('upper bound');
    expect(previewOf(exact.body)).toContain('No other campaign\'s send on this connection');

    const filtered = await browser.post('/campaigns/new', { ...campaignForm({ intent: 'preview' }), userLists: [], excludeUserLists: [], chatFilters: ['who_tipped'] });
    expect(previewOf(filtered.body)).toContain('Not complete: chat-filter fans are found only shortly before the send.');
  });

  it('shows the problems of a previewed form next to its fields, as a save would', async () => {
    await start();
    const res = await browser.post('/campaigns/new', campaignForm({ price: '1.50', intent: 'preview' }));
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('<p class="error" id="f-price-error">price must be 0 (free) or between 3 and 200</p>');
    expect(previewOf(res.body)).toBe('');
  });

  it('previews an edit without its own send as an overlap, changing nothing', async () => {
    await start();
    const campaign = await createSimCampaign(h, { name: 'Own drop', scheduledAt: FORM_TIME });
    const other = await createSimCampaign(h, { name: 'Other drop', scheduledAt: FORM_TIME });
    await browser.get(`/campaigns/${campaign.id}/edit`);

    const res = await browser.post(`/campaigns/${campaign.id}/edit`, { ...campaignForm({ name: 'Renamed', intent: 'preview' }), userLists: ['1', '3'], excludeUserLists: ['4'] });

    expect(res.statusCode).toBe(200);
    const preview = previewOf(res.body);
    expect(preview).toContain(`<a href="/campaigns/${other.id}">Other drop</a>`);
    expect(preview).not.toContain(`/campaigns/${campaign.id}"`);
    expect(preview).toContain('shares lists 1, 3.');
    expect(res.body).toContain('value="Renamed"');
    expect((await h.services.campaigns.get(admin, campaign.id)).name).toBe('Own drop');
  });

  it('shows a save\'s overlap warnings on the campaign page it leads to, once', async () => {
    await start();
    const other = await createSimCampaign(h, { name: 'Thursday tease', audience: { userLists: [3] }, scheduledAt: FORM_TIME });
    await browser.get('/campaigns/new');

    const saved = await browser.post('/campaigns/new', { ...campaignForm(), userLists: ['1', '3'], excludeUserLists: ['4'] });

    expect(saved.statusCode).toBe(303);
    const page = await browser.get(String(saved.headers.location));
    const warnings = warningsOf(page.body);
    expect(warnings).toContain('<h2 id="h-warnings">Overlaps with other sends</h2>');
    expect(warnings).toContain(`<a href="/campaigns/${other.id}">Thursday tease</a>, <time datetime="${FORM_TIME}">`);
    expect(warnings).toContain('shares list 3.');
    expect(warningsOf((await browser.get(String(saved.headers.location))).body)).toBe('');

    // An edit's warnings too; and a save that overlaps nothing shows none.
    const id = /cmp_\w+/.exec(String(saved.headers.location))![0];
    await browser.get(`/campaigns/${id}/edit`);
    const edited = await browser.post(`/campaigns/${id}/edit`, { ...campaignForm({ name: 'Renamed' }), userLists: ['1', '3'], excludeUserLists: ['4'] });
    expect(warningsOf((await browser.get(String(edited.headers.location))).body)).toContain('Thursday tease');
    await browser.get(`/campaigns/${id}/edit`);
    const apart = await browser.post(`/campaigns/${id}/edit`, { ...campaignForm({ name: 'Renamed' }), userLists: ['1'], excludeUserLists: ['4'] });
    expect(warningsOf((await browser.get(String(apart.headers.location))).body)).toBe('');
  });
});
