import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes, getCampaign } from './support.ts';

/** POST /v1/campaigns/:id/test-send against the simulator over loopback HTTP. */
describe('test sends', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  const testSend = (id: string, payload: unknown) => h.app.inject({ method: 'POST', url: `/v1/campaigns/${id}/test-send`, headers: h.admin, payload: payload as object });
  const sendsOf = async (id: string) => (await h.app.inject({ method: 'GET', url: `/v1/campaigns/${id}/sends`, headers: h.admin })).json().items as Array<Record<string, any>>;

  it("sends the campaign's message, media and price to one fan as a chat message, listed with its id, moving and counting nothing", async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h, { status: 'draft' });

    const res = await testSend(campaign.id, { userId: 101 });

    expect(res.statusCode).toBe(201);
    const send = res.json();
    const [chat, ...others] = h.sim.chatMessages();
    expect(others).toEqual([]);
    expect(chat).toMatchObject({ withUserId: 101, text: 'New set drops tonight', price: 9.99, mediaCount: 1, unsentAt: null });
    expect(send).toMatchObject({ kind: 'test', status: 'sent', testUserId: 101, campaignId: campaign.id, sync: { state: 'synced', remoteId: String(chat!.id) } });
    // One chat message, no mass-message call (campaign creation reads the lists, nothing else).
    const writes = Object.entries(h.sim.requestCounts()).filter(([key]) => !key.startsWith('GET '));
    expect(writes).toEqual([['POST /v2/access/chats/:userId/messages 200', 1]]);
    expect(h.sim.messages()).toEqual([]);
    expect(await sendsOf(campaign.id)).toMatchObject([{ id: send.id, kind: 'test', status: 'sent' }]);
    const after = await getCampaign(h, campaign.id);
    expect(after).toMatchObject({ status: 'draft', stats: null });
    const summary = await h.app.inject({ method: 'GET', url: '/v1/stats/summary', headers: h.admin });
    expect(summary.json()).toMatchObject({ totals: { campaignsSent: 0, messagesSent: 0 }, days: [] });
    expect(await eventTypes(h, campaign.id)).toEqual(['created', 'test_requested', 'sync_started', 'test_sent']);
  });

  it('sends from a scheduled series without touching its sendCounts or status, and a second pass sends nothing more', async () => {
    h = await buildSyncHarness();
    const series = await createSimCampaign(h, { scheduledAt: null, recurrence: { cron: '0 20 * * 5', timezone: 'UTC' } });

    expect((await testSend(series.id, { userId: '102' })).json()).toMatchObject({ status: 'sent', testUserId: 102 });
    await h.reconciler.reconcileOnce();

    const after = await getCampaign(h, series.id);
    expect(after.status).toBe('scheduled');
    expect(Object.values(after.sendCounts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(0);
    expect(h.sim.chatMessages()).toHaveLength(1);
    const stats = (await h.app.inject({ method: 'GET', url: `/v1/campaigns/${series.id}/stats`, headers: h.admin })).json();
    expect(stats).toMatchObject({ sentAt: null, sentCount: null, sends: [] });
  });

  it('refuses a fan outside TEST_SEND_ALLOWLIST with a problem naming it, sending and storing nothing', async () => {
    h = await buildSyncHarness({ env: { TEST_SEND_ALLOWLIST: '101, 103' } });
    const campaign = await createSimCampaign(h, { status: 'draft' });

    const res = await testSend(campaign.id, { userId: 202 });

    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 403, code: 'not_in_test_allowlist', type: '/problems/not_in_test_allowlist' });
    expect(res.json().detail).toContain('TEST_SEND_ALLOWLIST');
    expect(await sendsOf(campaign.id)).toEqual([]);
    expect(h.sim.chatMessages()).toEqual([]);
    expect((await testSend(campaign.id, { userId: 103 })).statusCode).toBe(201);
  });

  it('refuses a campaign past scheduled with a 409, and a bad body with a 400 naming userId', async () => {
    h = await buildSyncHarness();
    const queued = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    expect((await getCampaign(h, queued.id)).status).toBe('queued');

    const late = await testSend(queued.id, { userId: 101 });
    const bad = await testSend(queued.id, { userId: -4 });

    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ code: 'invalid_state' });
    expect(late.json().detail).toContain('queued');
    expect(bad.statusCode).toBe(400);
    expect(JSON.stringify(bad.json().errors)).toContain('userId');
    expect((await sendsOf(queued.id)).map((s) => s.kind)).toEqual(['scheduled']);
    expect(h.sim.chatMessages()).toEqual([]);
  });

  it('reports a lost answer as unknown, never sends again, and adopts the delivered message once the chat is searched', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h, { status: 'draft' });
    h.sim.setFaults({ dropAfterCommit: 1 });

    const res = await testSend(campaign.id, { userId: 101 });

    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'unknown', sync: { state: 'creating' } });
    expect(res.json().sync.lastError).toContain('never sent again blindly');
    h.sim.setFaults({});
    // Before SYNC_SETTLE nothing is asked; after it, one search.
    await h.reconciler.reconcileOnce();
    expect(h.sim.requestCounts()['GET /v2/access/chats/:userId/messages 200']).toBeUndefined();
    h.clock.advance(h.settings.settleMs);
    await h.reconciler.reconcileOnce();

    const [chat, ...others] = h.sim.chatMessages();
    expect(others).toEqual([]);
    const send = (await sendsOf(campaign.id))[0]!;
    expect(send).toMatchObject({ status: 'sent', sync: { state: 'synced', remoteId: String(chat!.id) } });
    expect(h.sim.requestCounts()).toMatchObject({ 'POST /v2/access/chats/:userId/messages dropped': 1, 'GET /v2/access/chats/:userId/messages 200': 1 });
    expect(await eventTypes(h, campaign.id)).toEqual(['created', 'test_requested', 'sync_started', 'sync_error', 'adopted']);
  });

  it('fails an unknown test send as not_delivered once a search of the chat proves it absent, without sending it', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h, { status: 'draft' });
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });

    expect((await testSend(campaign.id, { userId: 101 })).json()).toMatchObject({ status: 'unknown' });
    h.sim.setFaults({});
    h.clock.advance(h.settings.settleMs);
    await h.reconciler.reconcileOnce();
    await h.reconciler.reconcileOnce();

    expect(h.sim.chatMessages()).toEqual([]);
    expect((await sendsOf(campaign.id))[0]).toMatchObject({ status: 'failed', reason: 'not_delivered', sync: { state: 'idle' } });
    expect(h.sim.requestCounts()['POST /v2/access/chats/:userId/messages 200']).toBeUndefined();
  });

  it('leaves it unknown, and says so, when the chat cannot be searched', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h, { status: 'draft' });
    h.sim.setFaults({ dropAfterCommit: 1 });
    await testSend(campaign.id, { userId: 101 });
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });

    for (let i = 0; i < 8; i++) {
      h.clock.advance(10 * 60_000);
      await h.reconciler.reconcileOnce();
    }

    const send = (await sendsOf(campaign.id))[0]!;
    expect(send).toMatchObject({ status: 'unknown', sync: { state: 'error' } });
    expect(send.sync.lastError).toContain('could not tell whether the test was delivered');
    expect(h.sim.chatMessages()).toHaveLength(1);
    expect(h.sim.requestCounts()['GET /v2/access/chats/:userId/messages 500']).toBe(5);
  });
});
