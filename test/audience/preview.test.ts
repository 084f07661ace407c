import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, simCampaignBody } from '../sync/support.ts';

const HOUR = 3_600_000;

describe('POST /v1/campaigns/preview and overlaps', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  const at = (offsetMs: number) => new Date(h.clock.now() + offsetMs).toISOString();
  const preview = (overrides: Record<string, unknown>) =>
    h.app.inject({ method: 'POST', url: '/v1/campaigns/preview', headers: h.admin, payload: simCampaignBody(h.clock.now(), overrides) });

  it('estimates the audience from list sizes and fan ids, shows the OFAuth body, and stores nothing', async () => {
    h = await buildSyncHarness();
    const before = await h.rows.snapshot();

    const res = await preview({ audience: { userLists: [1, 3], excludeUserLists: [4], userIds: [7, 8] }, scheduledAt: at(2 * HOUR) });

    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.audience).toEqual({
      estimatedFans: 2 + 1200 + 5,
      isUpperBound: true,
      isComplete: true,
      userIds: 2,
      userLists: [
        { id: 1, name: 'Fans', size: 1200, isKnown: true },
        { id: 3, name: 'VIP', size: 5, isKnown: true },
      ],
      excludeUserLists: [{ id: 4, name: 'Muted', size: 25, isKnown: true }],
      chatFilters: [],
      listsReadAt: new Date(h.clock.now()).toISOString(),
      listsUnavailable: null,
    });
    expect(body.sendAt).toBe(at(2 * HOUR));
    expect(body.ofauthBody).toMatchObject({ text: 'New set drops tonight', price: 9.99, userIds: [7, 8], userLists: [1, 3], excludeUserLists: [4], scheduledDate: at(2 * HOUR).replace('.000Z', 'Z') });
    expect(body.overlaps).toEqual([]);
    expect(await h.rows.snapshot()).toEqual(before);
    expect(h.sim.messages()).toHaveLength(0);
  });

  it('says a single list is exact, a chat filter unknown until resolved, and an unknown list unknown', async () => {
    h = await buildSyncHarness();

    const single = (await preview({ audience: { userLists: [3] } })).json();
    expect(single.audience).toMatchObject({ estimatedFans: 5, isUpperBound: false, isComplete: true });

    const filtered = (await preview({ audience: { chatFilters: ['who_tipped'], userLists: [99] } })).json();
    expect(filtered.audience).toMatchObject({
      estimatedFans: 0,
      isUpperBound: true,
      isComplete: false,
      userLists: [{ id: 99, name: null, size: null, isKnown: false }],
      chatFilters: [{ filter: 'who_tipped', fans: null, note: 'unknown until resolved, 10 min before the send (AUDIENCE_RESOLVE_LEAD)' }],
    });
    expect(h.sim.requestCounts()['GET /v2/access/chats 200']).toBeUndefined();
  });

  it('answers 400 problem+json for a body a create would refuse', async () => {
    h = await buildSyncHarness();
    const res = await preview({ audience: { userIds: [] } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().errors[0]).toMatchObject({ path: 'body/audience/userIds' });
  });

  it('lists other campaigns on the connection within OVERLAP_WINDOW sharing a list, a chat filter or fans; create and PATCH warn the same', async () => {
    h = await buildSyncHarness({ env: { OVERLAP_WINDOW: '12h' } });
    const sharedList = await createSimCampaign(h, { name: 'List drop', audience: { userLists: [1] }, scheduledAt: at(HOUR) });
    const sharedFilter = await createSimCampaign(h, { name: 'Tippers', audience: { chatFilters: ['who_tipped'] }, scheduledAt: at(3 * HOUR) });
    const sharedFans = await createSimCampaign(h, { name: 'Fans 7', audience: { userIds: [7, 9] }, scheduledAt: at(4 * HOUR) });
    await createSimCampaign(h, { name: 'Too late', audience: { userLists: [1] }, scheduledAt: at(15 * HOUR) });
    await createSimCampaign(h, { name: 'Other lists', audience: { userLists: [2] }, scheduledAt: at(2 * HOUR) });
    const canceled = await createSimCampaign(h, { name: 'Canceled', audience: { userLists: [1] }, scheduledAt: at(2 * HOUR) });
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${canceled.id}/cancel`, headers: h.admin });
    const audience = { userLists: [1, 3], chatFilters: ['who_tipped', 'unread'], userIds: [7] };

    const res = await preview({ audience, scheduledAt: at(2 * HOUR) });

    expect(res.json().overlaps).toEqual([
      expect.objectContaining({ campaignId: sharedList.id, campaignName: 'List drop', plannedAt: at(HOUR), status: 'pending', sharedUserLists: [1], sharedChatFilters: [], sharedFans: 0 }),
      expect.objectContaining({ campaignId: sharedFilter.id, sharedUserLists: [], sharedChatFilters: ['who_tipped'], sharedFans: 0 }),
      expect.objectContaining({ campaignId: sharedFans.id, sharedUserLists: [], sharedChatFilters: [], sharedFans: 1 }),
    ]);
    expect(res.json().overlaps[0].message).toBe(`Campaign "List drop" sends at ${at(HOUR)} on the same connection and shares list 1.`);

    const created = await h.app.inject({ method: 'POST', url: '/v1/campaigns', headers: h.admin, payload: simCampaignBody(h.clock.now(), { audience, scheduledAt: at(2 * HOUR) }) });
    expect(created.statusCode).toBe(201);
    expect(created.json().warnings).toEqual(res.json().overlaps);
    const edited = await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${created.json().id}`, headers: h.admin, payload: { audience: { userLists: [3], chatFilters: [], userIds: [] } } });
    expect(edited.statusCode).toBe(200);
    expect(edited.json().warnings).toBeUndefined();
    expect((await h.app.inject({ method: 'GET', url: `/v1/campaigns/${created.json().id}`, headers: h.admin })).json().warnings).toBeUndefined();
  });

  it('counts the resolved chat fans of another send as shared fans', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h, { name: 'Priority', audience: { chatFilters: ['priority'] }, scheduledAt: at(5 * 60_000) });
    await h.reconciler.reconcileOnce();

    const res = await preview({ audience: { userIds: [101, 201, 5] }, scheduledAt: at(HOUR) });

    expect(res.json().overlaps).toEqual([expect.objectContaining({ campaignName: 'Priority', status: 'queued', sharedFans: 2 })]);
  });
});
