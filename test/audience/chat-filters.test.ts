import { afterEach, describe, expect, it } from 'vitest';
import { OfauthError } from '../../src/ofauth/errors.ts';
import type { SimChatInput, SimConnectionInput } from '../../src/ofauth/simulator/app.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes, getCampaign, sendOf } from '../sync/support.ts';

const CHATS_ROUTE = 'GET /v2/access/chats 200';
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function connectionWith(chats: SimChatInput[]): SimConnectionInput {
  return { id: 'conn_sandbox', lists: [{ id: 1, name: 'Fans', size: 1200 }, { id: 4, name: 'Muted', size: 25 }], chats };
}

async function createChatCampaign(h: SyncHarness, audience: Record<string, unknown>, scheduledInMs = 3_600_000) {
  return createSimCampaign(h, { audience, scheduledAt: new Date(h.clock.now() + scheduledInMs).toISOString() });
}

async function sendView(h: SyncHarness, campaignId: string): Promise<Record<string, any>> {
  const res = await h.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/sends`, headers: h.admin });
  return res.json().items[0];
}

describe('chat-filter audiences', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('waits until AUDIENCE_RESOLVE_LEAD before the send, then resolves the sandbox chats and sends to those fans', async () => {
    h = await buildSyncHarness();
    const campaign = await createChatCampaign(h, { chatFilters: ['priority'] });
    expect(campaign.audience).toEqual({ userIds: [], userLists: [], excludeUserLists: [], subscribedAfterDate: null, chatFilters: ['priority'] });
    const dueAt = Date.parse(campaign.scheduledAt);

    const early = await h.reconciler.reconcileOnce();
    expect(early.created).toBe(0);
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBeUndefined();
    expect((await getCampaign(h, campaign.id)).sync.nextAttemptAt).toBe(new Date(dueAt - 10 * 60_000).toISOString());

    h.clock.set(dueAt - 10 * 60_000);
    const due = await h.reconciler.reconcileOnce();

    expect(due.created).toBe(1);
    const [remote, ...others] = h.sim.messages();
    expect(others).toHaveLength(0);
    expect(remote!.body.userIds).toEqual([101, 102, 201]);
    expect(remote!.body.userLists).toBeUndefined();
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBe(1);
    expect((await sendView(h, campaign.id)).audience).toEqual({ resolvedFans: 3, resolvedAt: new Date(dueAt - 10 * 60_000).toISOString() });
    expect(await eventTypes(h, campaign.id)).toEqual(['created', 'audience_resolved', 'sync_started', 'remote_created']);
  });

  it('pages every filter through the connection bucket and joins the fans with userIds; excludeUserLists still goes to OFAuth', async () => {
    const chats = [...range(1, 45).map((fanId) => ({ fanId, priority: true })), ...range(40, 50).map((fanId) => ({ fanId, priority: fanId <= 45, tipped: true }))];
    // A bucket that does not refill within the test: every request it paid for is counted.
    h = await buildSyncHarness({ sim: { connections: [connectionWith(chats)] }, client: { rateLimit: { capacity: 100, refillPerSecond: 0.0001 } } });
    const campaign = await createChatCampaign(h, { chatFilters: ['priority', 'who_tipped'], userIds: [999], userLists: [1], excludeUserLists: [4] }, 60_000);
    const tokensBefore = h.client.availableTokens('conn_sandbox');

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.created).toBe(1);
    const [remote] = h.sim.messages();
    expect([...(remote!.body.userIds as number[])].sort((a, b) => a - b)).toEqual([...range(1, 50), 999]);
    expect(remote!.body).toMatchObject({ userLists: [1], excludeUserLists: [4] });
    // priority: 45 chats in pages of 20 (3 pages); who_tipped: 11 chats (1 page).
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBe(4);
    expect(tokensBefore - h.client.availableTokens('conn_sandbox')).toBeCloseTo(4 + 1, 1);
    const send = await sendOf(h, campaign.id);
    expect(send.resolvedAudience).toMatchObject({ fanIds: range(1, 50), pages: 4 });
  });

  it('keeps the stored audience when the create fails before reaching OFAuth, even if the chats change meanwhile', async () => {
    h = await buildSyncHarness();
    const campaign = await createChatCampaign(h, { chatFilters: ['unread'] }, 60_000);

    const first = await h.makeReconciler({ owner: 'refused', client: withCreateRefusedBeforeSending(h) }).reconcileOnce();

    expect(first).toMatchObject({ created: 0, retried: 1 });
    expect((await sendOf(h, campaign.id)).resolvedAudience?.fanIds).toEqual([102, 103, 202, 205]);

    // A new unread chat appears; the retry still sends the audience that was stored.
    h.sim.store.connections.get('conn_sandbox')!.chats.set(300, { fanId: 300, priority: false, unread: true, tipped: false, lastActivityAt: 1e15 });
    h.clock.advance(10 * 60_000);
    const retried = await h.reconciler.reconcileOnce();

    expect(retried.created).toBe(1);
    expect(h.sim.messages()).toHaveLength(1);
    expect(h.sim.messages()[0]!.body.userIds).toEqual([102, 103, 202, 205]);
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBe(1);
  });

  it('adopts the message of an ambiguous create, keeping the stored fans, reading the chats once', async () => {
    h = await buildSyncHarness();
    const campaign = await createChatCampaign(h, { chatFilters: ['who_tipped'] }, 60_000);
    // Chat reads are not writes: dropAfterCommit only drops the create's answer.
    h.sim.setFaults({ dropAfterCommit: 1 });
    const first = await h.reconciler.reconcileOnce();
    expect(first.ambiguous).toBe(1);
    h.sim.setFaults({});
    h.sim.store.connections.get('conn_sandbox')!.chats.set(301, { fanId: 301, priority: false, unread: false, tipped: true, lastActivityAt: 1e15 });

    h.clock.advance(h.settings.settleMs);
    const second = await h.reconciler.reconcileOnce();

    expect(second.adopted).toBe(1);
    expect(h.sim.messages()).toHaveLength(1);
    expect(h.sim.messages()[0]!.body.userIds).toEqual([101, 104, 202, 203]);
    const send = await sendOf(h, campaign.id);
    expect(send.remoteId).toBe(String(h.sim.messages()[0]!.id));
    expect(send.resolvedAudience?.fanIds).toEqual([101, 104, 202, 203]);
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBe(1);
  });

  it('after a create whose outcome is unknown and that OFAuth never saw, searches, finds it absent, and sends the stored fans', async () => {
    h = await buildSyncHarness();
    const campaign = await createChatCampaign(h, { chatFilters: ['priority'] }, 60_000);
    const first = await h.makeReconciler({ owner: 'crashed', client: { ...h.client, createMassMessage: async () => { throw new Error('process died mid-call (test)'); } } }).reconcileOnce();
    expect(first.ambiguous).toBe(1);
    h.sim.store.connections.get('conn_sandbox')!.chats.set(302, { fanId: 302, priority: true, unread: false, tipped: false, lastActivityAt: 1e15 });

    h.clock.advance(h.settings.settleMs);
    const absent = await h.reconciler.reconcileOnce();

    expect(absent).toMatchObject({ created: 1 });
    expect(h.sim.messages()).toHaveLength(1);
    expect(h.sim.messages()[0]!.body.userIds).toEqual([101, 102, 201]);
    expect(await eventTypes(h, campaign.id)).toEqual(['created', 'audience_resolved', 'sync_started', 'sync_error', 'create_absent', 'sync_started', 'remote_created']);
  });

  it('fails a send whose chat filters resolve to nobody with empty_audience, sending nothing', async () => {
    h = await buildSyncHarness({ sim: { connections: [connectionWith([{ fanId: 7, priority: true }])] } });
    const campaign = await createChatCampaign(h, { chatFilters: ['unread'] }, 60_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ failed: 1, created: 0 });
    expect(h.sim.messages()).toHaveLength(0);
    const after = await getCampaign(h, campaign.id);
    expect(after.status).toBe('failed');
    const send = await sendView(h, campaign.id);
    expect(send).toMatchObject({ status: 'failed', reason: 'empty_audience' });
    expect(send.sync.lastError).toContain('resolved to no fans');
  });

  it('fails a send whose audience resolves past AUDIENCE_MAX_FANS, reading no further than needed', async () => {
    const chats = range(1, 60).map((fanId) => ({ fanId, priority: true }));
    h = await buildSyncHarness({ sim: { connections: [connectionWith(chats)] }, settings: { audienceMaxFans: 25 } });
    const campaign = await createChatCampaign(h, { chatFilters: ['priority'] }, 60_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.failed).toBe(1);
    expect(h.sim.messages()).toHaveLength(0);
    // 25 fans are passed on the second page of 20: the third is never read.
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBe(2);
    const send = await sendView(h, campaign.id);
    expect(send).toMatchObject({ status: 'failed', reason: 'audience_too_large' });
    expect(send.sync.lastError).toContain('more than 25 fans (AUDIENCE_MAX_FANS)');
  });

  it('pauses the connection when OFAuth refuses the chat read (expired session), sending nothing', async () => {
    h = await buildSyncHarness({ sim: { connections: [{ ...connectionWith([{ fanId: 7, priority: true }]), status: 'expired' }] } });
    const campaign = await createChatCampaign(h, { chatFilters: ['priority'] }, 60_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.paused).toBe(1);
    expect(h.sim.messages()).toHaveLength(0);
    expect((await getCampaign(h, campaign.id)).sync).toMatchObject({ state: 'paused' });
    expect((await h.store.connections.find('conn_sandbox'))?.pausedAt).toBe(h.clock.now());
    expect((await sendOf(h, campaign.id)).resolvedAudience).toBeNull();
  });

  it('a list audience with chat filters that resolve to nobody still goes out, to its lists', async () => {
    h = await buildSyncHarness({ sim: { connections: [connectionWith([])] } });
    await createChatCampaign(h, { chatFilters: ['unread'], userLists: [1] }, 60_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.created).toBe(1);
    expect(h.sim.messages()[0]!.body).toMatchObject({ userLists: [1] });
    expect(h.sim.messages()[0]!.body.userIds).toBeUndefined();
  });

  it('an edit of the chat filters after the send was queued is resolved again and sent as an update', async () => {
    h = await buildSyncHarness();
    const campaign = await createChatCampaign(h, { chatFilters: ['priority'] }, 5 * 60_000);
    await h.reconciler.reconcileOnce();
    const patch = await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaign.id}`, headers: h.admin, payload: { audience: { chatFilters: ['unread'] } } });
    expect(patch.statusCode).toBe(200);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.updated).toBe(1);
    expect(h.sim.messages()).toHaveLength(1);
    expect(h.sim.messages()[0]!.body.userIds).toEqual([102, 103, 202, 205]);
    expect(h.sim.requestCounts()[CHATS_ROUTE]).toBe(2);
  });
});

/** The harness's client, but its creates fail as a refused connection would: nothing reached OFAuth. */
function withCreateRefusedBeforeSending(h: SyncHarness) {
  return {
    ...h.client,
    createMassMessage: async () => {
      throw new OfauthError({ kind: 'retryable', operation: 'createMassMessage', route: '/v2/access/messages/queue', code: 'CONNECT_FAILED', message: 'connection refused (test)' });
    },
  };
}
