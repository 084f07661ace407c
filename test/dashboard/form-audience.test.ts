import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { issueToken } from '../helpers/tokens.ts';
import { createSimCampaign } from '../sync/support.ts';
import { ADMIN_PRINCIPAL, campaignForm, DashboardClient, signedInAdmin } from './support.ts';

const admin = ADMIN_PRINCIPAL;

/** The form's audience by list name, chat filters and follow-up, against the simulator's lists over loopback HTTP. */
describe('dashboard: the form\'s audience and follow-up', () => {
  let h: SyncHarness;
  let browser: DashboardClient;
  afterEach(async () => {
    await h.close();
  });

  async function start() {
    ({ h, browser } = await signedInAdmin());
  }

  /** The form with lists ticked instead of typed, as a browser posts checkboxes. */
  const tickedForm = (overrides: Record<string, string | string[]> = {}) => ({ ...campaignForm(), userLists: ['1', '3'], excludeUserLists: ['4'], ...overrides });
  const campaignOf = async (location: unknown) => h.services.campaigns.get(admin, /^\/campaigns\/(cmp_\w+)\?/.exec(String(location))![1]!);

  it('offers the connection\'s lists by name with their sizes, chat filters and a follow-up, each labelled', async () => {
    h = await buildSyncHarness();
    const marketer = await issueToken(h.app, h.admin, { name: 'alice', role: 'marketer', connectionIds: ['conn_sandbox'] });
    browser = new DashboardClient(h.app);
    await browser.signIn(marketer.secret);

    const page = await browser.get('/campaigns/new');

    expect(page.body).toMatch(/<fieldset class="field checks" id="f-lists">\s*<legend>Lists<\/legend>/);
    expect(page.body).toContain('<label class="check" for="f-list-1"><input type="checkbox" id="f-list-1" name="userLists" value="1"> Fans <span class="size">(1,200 fans)</span></label>');
    expect(page.body).toContain('<input type="checkbox" id="f-excl-4" name="excludeUserLists" value="4"> Muted <span class="size">(25 fans)</span>');
    for (const [value, label] of [['priority', 'Priority chats'], ['unread', 'Unread chats'], ['who_tipped', 'Fans who tipped']]) {
      expect(page.body).toContain(`<label class="check" for="f-chat-${value}"><input type="checkbox" id="f-chat-${value}" name="chatFilters" value="${value}"> ${label}</label>`);
    }
    for (const [id, label] of [['f-fu-after', 'Follow-up after'], ['f-fu-price', 'Follow-up price (USD)'], ['f-fu-text', 'Follow-up text']]) expect(page.body).toContain(`<label for="${id}">${label}</label>`);
    expect(page.body).not.toContain('id="f-lists" name="userLists"');
  });

  it('says the follow-up may come from FOLLOW_UP_MIN_AFTER, as configured', async () => {
    ({ h, browser } = await signedInAdmin({ env: { FOLLOW_UP_MIN_AFTER: '90m' } }));

    const page = await browser.get('/campaigns/new');

    expect(page.body).toContain('<p class="hint" id="f-fu-after-hint">90m to 7d after the send:');
  });

  it('saves ticked lists, chat filters and a follow-up as the API would', async () => {
    await start();
    await browser.get('/campaigns/new');

    const saved = await browser.post('/campaigns/new', tickedForm({ chatFilters: ['priority', 'who_tipped'], followUpAfter: '24h', followUpText: 'Still thinking about it?', followUpPrice: '4.99' }));

    expect(saved.statusCode, saved.body).toBe(303);
    const campaign = await campaignOf(saved.headers.location);
    expect(campaign.audience).toMatchObject({ userLists: [1, 3], excludeUserLists: [4], chatFilters: ['priority', 'who_tipped'] });
    expect(campaign.followUps).toEqual([{ after: '1d', audience: 'non_buyers', message: expect.objectContaining({ text: 'Still thinking about it?', price: 4.99 }) }]);
  });

  it('places the problems next to the follow-up fields and the lists, keeping every tick', async () => {
    await start();
    await browser.get('/campaigns/new');

    const early = await browser.post('/campaigns/new', tickedForm({ chatFilters: 'unread', followUpAfter: '5m', followUpText: 'Last chance' }));
    expect(early.statusCode).toBe(400);
    expect(early.body).toMatch(/id="f-fu-after" name="followUpAfter" value="5m"[^>]*aria-describedby="f-fu-after-hint f-fu-after-error" aria-invalid="true"/);
    expect(early.body).toContain('<p class="error" id="f-fu-after-error">after must be at least 1h (FOLLOW_UP_MIN_AFTER)</p>');
    expect(early.body).toContain('Last chance</textarea>');
    expect(early.body).toContain('id="f-chat-unread" name="chatFilters" value="unread" checked');
    expect(early.body).toContain('id="f-list-3" name="userLists" value="3" checked');

    // The service's own rule: a follow-up goes to non-buyers, so only a PPV has one.
    const free = await browser.post('/campaigns/new', tickedForm({ price: '0', followUpAfter: '24h', followUpText: 'Hi' }));
    expect(free.statusCode).toBe(400);
    expect(free.body).toContain('<p class="error" id="f-fu-after-error">follow-ups go to the fans who did not buy, so the campaign must be a PPV (message.price &gt; 0)</p>');

    // A list OFAuth does not have: named next to the lists, and still ticked so nothing is lost.
    const unknown = await browser.post('/campaigns/new', tickedForm({ userLists: ['1', '99'] }));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toMatch(/<fieldset class="field invalid checks" id="f-lists" aria-describedby="f-lists-error">/);
    expect(unknown.body).toContain('<p class="error" id="f-lists-error">OFAuth has no list 99 on connection conn_sandbox</p>');
    expect(unknown.body).toContain('<input type="checkbox" id="f-list-99" name="userLists" value="99" checked> List 99 <span class="size">(not among OFAuth\'s lists)</span>');
    expect(unknown.body).toContain('<a href="#f-lists">');
    expect((await h.services.campaigns.list(admin, { limit: 10 })).items).toEqual([]);
  });

  it('falls back to list ids when OFAuth\'s lists cannot be read, keeping what was typed', async () => {
    await start();
    h.client.listUserLists = () => Promise.reject(new Error('connect ECONNREFUSED'));

    const refused = await browser.post('/campaigns/new', campaignForm({ userLists: '1, 3', price: '1.50' }));

    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('<input id="f-lists" name="userLists" value="1, 3" inputmode="numeric">');
    expect(refused.body).toMatch(/OFAuth's lists could not be read \([^)]*ECONNREFUSED[^)]*\), so enter list ids/);
    expect(refused.body).not.toContain('name="userLists" value="1"');
  });

  it('keeps typed list ids a text field when a refused form comes back, and Preview offers the names', async () => {
    await start();
    const fresh = await browser.get('/campaigns/new');
    // An admin has chosen no connection yet: nothing to read, so ids are typed.
    expect(fresh.body).toContain('<input type="hidden" name="listPicker" value="ids">');
    expect(fresh.body).toContain('<input id="f-lists" name="userLists" value="" inputmode="numeric">');

    const refused = await browser.post('/campaigns/new', campaignForm({ listPicker: 'ids', userLists: '1, 3', price: '1.50' }));
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('<input id="f-lists" name="userLists" value="1, 3" inputmode="numeric">');

    const preview = await browser.post('/campaigns/new', campaignForm({ listPicker: 'ids', userLists: '1, 3', intent: 'preview' }));
    expect(preview.body).toContain('<input type="hidden" name="listPicker" value="names">');
    expect(preview.body).toContain('id="f-list-1" name="userLists" value="1" checked');
    expect(preview.body).toContain('id="f-list-3" name="userLists" value="3" checked');
  });

  it('edits chat filters and the follow-up, keeping the follow-up\'s media, and removes it when emptied', async () => {
    await start();
    const followUp = { after: '2d', message: { text: 'Still there?', price: 4.99, mediaItems: [4212], previewMediaCount: 1 }, audience: 'non_buyers' };
    const campaign = await createSimCampaign(h, { audience: { userLists: [1], chatFilters: ['unread'] }, followUps: [followUp] });
    const form = await browser.get(`/campaigns/${campaign.id}/edit`);
    expect(form.body).toContain('id="f-chat-unread" name="chatFilters" value="unread" checked');
    expect(form.body).toContain('id="f-list-1" name="userLists" value="1" checked');
    expect(form.body).toContain('name="followUpAfter" value="2d"');
    expect(form.body).toContain('Still there?</textarea>');

    const edited = { ...campaignForm(), timeZone: 'UTC', scheduledAt: '2030-01-01T13:00', userLists: '1', excludeUserLists: [] as string[], chatFilters: ['priority'], followUpAfter: '3d', followUpText: 'Last call', followUpPrice: '4.99' };
    const res = await browser.post(`/campaigns/${campaign.id}/edit`, edited);

    expect(res.statusCode, res.body).toBe(303);
    const after = await h.services.campaigns.get(admin, campaign.id);
    expect(after.audience).toMatchObject({ userLists: [1], chatFilters: ['priority'] });
    expect(after.followUps).toEqual([{ after: '3d', audience: 'non_buyers', message: expect.objectContaining({ text: 'Last call', price: 4.99, mediaItems: [4212], previewMediaCount: 1 }) }]);

    await browser.get(`/campaigns/${campaign.id}/edit`);
    await browser.post(`/campaigns/${campaign.id}/edit`, { ...edited, followUpAfter: '', followUpText: '', followUpPrice: '' });
    expect((await h.services.campaigns.get(admin, campaign.id)).followUps).toBeUndefined();
  });

  it('keeps follow-ups it cannot show (more than one) as they are', async () => {
    await start();
    const followUp = (after: string) => ({ after, message: { text: `After ${after}`, price: 4.99 }, audience: 'non_buyers' });
    const campaign = await createSimCampaign(h, { followUps: [followUp('1d'), followUp('2d')] });
    const form = await browser.get(`/campaigns/${campaign.id}/edit`);
    expect(form.body).toContain('This campaign has 2 follow-ups; the form keeps them as they are');
    expect(form.body).not.toContain('name="followUpAfter"');

    const res = await browser.post(`/campaigns/${campaign.id}/edit`, { ...campaignForm(), timeZone: 'UTC', scheduledAt: '2030-01-01T13:00', name: 'Renamed', userLists: ['1', '3'], excludeUserLists: ['4'] });

    expect(res.statusCode, res.body).toBe(303);
    const after = await h.services.campaigns.get(admin, campaign.id);
    expect(after.name).toBe('Renamed');
    expect(after.followUps?.map((f) => f.after)).toEqual(['1d', '2d']);
  });
});
