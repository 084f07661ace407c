import { afterEach, describe, expect, it } from 'vitest';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import { itOnSqliteOnly } from '../helpers/backend.ts';
import {
  DAY,
  HOUR,
  MINUTE,
  buildStatsHarness,
  createSimCampaign,
  eventTypes,
  eventsOf,
  findSend,
  getCampaign,
  getStats,
  pagesCovering,
  positionsIn,
  seedCampaignFor,
  seedRemote,
  statsRequests,
  type StatsHarness,
} from './support.ts';

/** The client with one method replaced: items of these remote ids come back with hasError. */
function withErrorFlag(client: OfauthClient, remoteIds: number[]): OfauthClient {
  return {
    ...client,
    async listMassMessages(connectionId, q, opts) {
      const page = await client.listMassMessages(connectionId, q, opts);
      return { ...page, list: page.list.map((item) => (remoteIds.includes(item.id) ? { ...item, hasError: true } : item)) };
    },
  };
}

describe('stats poller: status from each list and flag', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  it('maps scheduled → queued, unsent → sending / canceled / failed, sent → sent', async () => {
    h = await buildStatsHarness();
    const sent = await createSimCampaign(h, { scheduledAt: null });
    await h.reconciler.reconcileOnce();
    h.clock.advance(2 * MINUTE); // the simulator sends in 60 s
    const queued = await createSimCampaign(h);
    const sending = await createSimCampaign(h, { scheduledAt: null });
    const canceledElsewhere = await createSimCampaign(h);
    const failing = await createSimCampaign(h, { scheduledAt: null });
    await h.reconciler.reconcileOnce();
    const remoteOf = async (c: Record<string, any>) => (await getCampaign(h, c.id)).sync.remoteId as string;
    await h.client.deleteMassMessage('conn_sandbox', await remoteOf(canceledElsewhere)); // canceled in OFAuth's own UI
    // The simulator never reports hasError, so that one flag is injected into the answer.
    const poller = h.makePoller({ client: withErrorFlag(h.client, [Number(await remoteOf(failing))]) });

    const summary = await poller.pollOnce();

    expect(summary).toMatchObject({ connections: 1, seen: 5, statusChanges: 4, missing: 0, failed: 0 });
    const view = async (c: Record<string, any>) => {
      const row = await getCampaign(h, c.id);
      return { status: row.status, list: (await getStats(h, c.id)).list, syncState: row.sync.state, failureReason: row.failureReason };
    };
    expect(await view(queued)).toEqual({ status: 'queued', list: 'scheduled', syncState: 'synced', failureReason: null });
    expect(await view(sending)).toEqual({ status: 'sending', list: 'unsent', syncState: 'synced', failureReason: null });
    expect(await view(sent)).toEqual({ status: 'sent', list: 'sent', syncState: 'synced', failureReason: null });
    expect(await view(canceledElsewhere)).toEqual({ status: 'canceled', list: 'unsent', syncState: 'deleted', failureReason: null });
    expect(await view(failing)).toEqual({ status: 'failed', list: 'unsent', syncState: 'synced', failureReason: 'remote_error' });
    expect((await eventsOf(h, canceledElsewhere.id, 'status_changed'))[0]!.data).toMatchObject({ from: 'queued', to: 'canceled', list: 'unsent', isCanceled: true });
    expect((await eventsOf(h, failing.id, 'status_changed'))[0]!.data).toMatchObject({ from: 'queued', to: 'failed', hasError: true });
    expect(await eventTypes(h, sent.id)).toEqual(expect.arrayContaining(['status_changed', 'sent']));
    expect(await eventTypes(h, queued.id)).not.toContain('status_changed');

    // OFAuth already canceled it: the reconciler has no delete to make.
    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0);
  });

  it('turns a campaign canceled too late (already sending) into sent once OFAuth sends it', async () => {
    h = await buildStatsHarness();
    const campaign = await createSimCampaign(h, { scheduledAt: new Date(h.clock.now() + 2 * MINUTE).toISOString() });
    await h.reconciler.reconcileOnce();
    h.clock.advance(2 * MINUTE + 1_000);
    const cancel = await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });
    expect(cancel.json().status).toBe('canceled');
    await h.reconciler.reconcileOnce(); // OFAuth refuses: it is sending
    expect((await getCampaign(h, campaign.id)).sync.state).toBe('error');

    h.clock.advance(MINUTE);
    await h.poller.pollOnce();

    const after = await getCampaign(h, campaign.id);
    expect(after).toMatchObject({ status: 'sent', sync: { state: 'synced', lastError: null } });
    expect((await eventsOf(h, campaign.id, 'status_changed'))[0]!.data).toMatchObject({ from: 'canceled', to: 'sent', reason: 'cancel_too_late' });
  });
});

describe('stats poller: counts and snapshots', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  it('records counts as they grow, with a snapshot only when something changed', async () => {
    h = await buildStatsHarness();
    const campaign = await createSimCampaign(h, { scheduledAt: null });
    await h.reconciler.reconcileOnce();

    h.clock.advance(30_000); // half-way through sending (60 s)
    await h.poller.pollOnce();
    let stats = await getStats(h, campaign.id);
    expect(stats).toMatchObject({ status: 'sending', list: 'unsent', sentCount: 590, purchasedCount: 0 });
    expect(stats.snapshots).toHaveLength(1);

    h.clock.advance(40_000);
    await h.poller.pollOnce();
    stats = await getStats(h, campaign.id);
    expect(stats).toMatchObject({ status: 'sent', list: 'sent', sentCount: 1180 });
    expect(stats.sentAt).not.toBeNull();
    expect(stats.snapshots).toHaveLength(2);

    h.clock.advance(20 * MINUTE);
    await h.poller.pollOnce();
    stats = await getStats(h, campaign.id);
    const [remote] = h.sim.messages();
    expect(remote!.purchasedCount).toBeGreaterThan(0);
    expect(stats).toMatchObject({
      sentCount: remote!.sentCount,
      viewedCount: remote!.viewedCount,
      purchasedCount: remote!.purchasedCount,
      viewRate: Math.round((remote!.viewedCount / remote!.sentCount) * 10_000) / 10_000,
      purchaseRate: Math.round((remote!.purchasedCount / remote!.sentCount) * 10_000) / 10_000,
      price: 9.99,
      priceSource: 'remote',
    });
    expect(stats.revenueEstimate).toBeCloseTo(remote!.purchasedCount * 9.99, 2);
    expect(stats.snapshots).toHaveLength(3);
    expect(stats.snapshots.map((s: { type: string }) => s.type)).toEqual(['unsent', 'sent', 'sent']);

    // Nothing changed since: one page read, no snapshot written.
    const requestsBefore = statsRequests(h);
    await h.poller.pollOnce();
    expect(statsRequests(h) - requestsBefore).toBe(1);
    expect((await getStats(h, campaign.id)).snapshots).toHaveLength(3);

    const types = await eventTypes(h, campaign.id);
    for (const type of ['sent', 'first_view', 'first_purchase']) expect(types.filter((t) => t === type)).toHaveLength(1);
    expect(types.filter((t) => t === 'status_changed')).toHaveLength(2);

    // The series filters by observedAt.
    const [first, second, third] = stats.snapshots as Array<{ observedAt: string }>;
    expect((await getStats(h, campaign.id, `?from=${second!.observedAt}`)).snapshots).toHaveLength(2);
    expect((await getStats(h, campaign.id, `?to=${first!.observedAt}`)).snapshots).toHaveLength(1);
    expect((await getStats(h, campaign.id, `?from=${second!.observedAt}&to=${second!.observedAt}`)).snapshots).toEqual([stats.snapshots[1]]);
    expect(await getStats(h, campaign.id, '?limit=2')).toMatchObject({ hasMore: true, snapshots: [stats.snapshots[0], stats.snapshots[1]] });
    expect(third).toBeDefined();
  });
});

describe('stats poller: paging', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  /** 300 messages older than the window, one campaign sent 9 days ago, and 45 recent: 30 campaigns, 15 from elsewhere. */
  async function seedHistory(h: StatsHarness) {
    const now = h.clock.now();
    for (let i = 0; i < 300; i++) seedRemote(h, { createdAt: now - 10 * DAY - i * 2 * HOUR });
    const oldRemote = seedRemote(h, { createdAt: now - 9 * DAY });
    const old = await seedCampaignFor(h, oldRemote, { status: 'sent', sentAt: oldRemote.createdAt });
    const tracked = [];
    for (let i = 44; i >= 0; i--) {
      const remote = seedRemote(h, { createdAt: now - 6 * HOUR - i * HOUR, price: 5 });
      if (i % 3 !== 2) tracked.push(await seedCampaignFor(h, remote, { status: 'sent', sentAt: remote.createdAt }));
    }
    return { old, tracked };
  }

  it('reads only the pages that cover the tracked campaigns, then one page while nothing changes', async () => {
    h = await buildStatsHarness();
    const { old, tracked } = await seedHistory(h);
    const least = pagesCovering(positionsIn(h, 'sent'), tracked.map((c) => c.remoteId!));
    expect(least).toBe(3);

    const first = await h.poller.pollOnce();

    // Only the sent list (no campaign is queued or sending) and only down to the oldest tracked.
    expect(h.sim.requestCounts()).toEqual({ 'GET /v2/access/messages/queue/stats 200': least });
    expect(first).toMatchObject({ requests: least, seen: 30, changed: 30, snapshots: 30, untrackedSeen: 29, deferred: 0 });
    expect((await findSend(h, old.sendId)).statsObservedAt).toBeNull();
    const untracked = async () => (await h.store.stats.connectionRows(['conn_sandbox']))[0]!.untrackedCount;
    // 15 recent from elsewhere, then on the third page the 9-day-old campaign (owned: not counted) and 14 historical.
    expect(await untracked()).toBe(29);

    h.clock.advance(MINUTE);
    const second = await h.poller.pollOnce();
    expect(second).toMatchObject({ requests: 1, changed: 0, snapshots: 0 });
    expect(await untracked()).toBe(29); // met again, counted once

    h.clock.advance(15 * MINUTE); // counts are due for a refresh
    expect((await h.poller.pollOnce()).requests).toBe(least);
    // Messages from elsewhere are counted, never turned into campaigns.
    expect((await h.rows.rowCounts()).campaigns).toEqual(31);
  });

  it('stops a list at the oldest campaign it still expects there', async () => {
    h = await buildStatsHarness();
    const now = h.clock.now();
    for (let i = 0; i < 200; i++) seedRemote(h, { createdAt: now - 3 * DAY - i * HOUR });
    // Sent from elsewhere, on top of a campaign that OFAuth no longer lists.
    for (let i = 0; i < 50; i++) seedRemote(h, { createdAt: now - HOUR - i * MINUTE });
    const gone = seedRemote(h, { createdAt: now - 2 * DAY });
    const campaign = await seedCampaignFor(h, gone, { status: 'sent', sentAt: gone.createdAt });
    h.sim.store.messages.delete(gone.id);

    const summary = await h.poller.pollOnce();

    // Items at 1 h … 50 min are above it, then the 3-day-old history: the third page passes its floor.
    expect(summary.requests).toBe(3);
    expect(summary.missing).toBe(1);
    expect(await eventTypes(h, campaign.id)).toEqual(['remote_missing']);
    expect((await getCampaign(h, campaign.id)).sync.state).toBe('synced'); // delivered: a stats gap, not a sync error
  });
});

describe('stats poller: a campaign that disappears', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  async function queuedThenDeleted(h: StatsHarness) {
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    await h.poller.pollOnce();
    h.clock.advance(2 * MINUTE);
    h.sim.store.messages.delete(Number((await getCampaign(h, campaign.id)).sync.remoteId)); // gone without a trace
    return campaign;
  }

  it('flags a queued campaign missing from every list: an event and a sync error', async () => {
    h = await buildStatsHarness();
    const campaign = await queuedThenDeleted(h);

    const summary = await h.poller.pollOnce();

    expect(summary.missing).toBe(1);
    const after = await getCampaign(h, campaign.id);
    expect(after).toMatchObject({ status: 'queued', sync: { state: 'error' } });
    expect(after.sync.lastError).toMatch(/^OFAuth no longer lists this mass message/);
    expect((await getStats(h, campaign.id)).remoteMissingSince).not.toBeNull();
    const [event] = await eventsOf(h, campaign.id, 'remote_missing');
    expect(event).toMatchObject({ actor: 'system:stats', data: { remoteId: after.sync.remoteId, lastList: 'scheduled' } });

    h.clock.advance(MINUTE);
    await h.poller.pollOnce();
    expect(await eventsOf(h, campaign.id, 'remote_missing')).toHaveLength(1);
  });

  it('does not flag it while paging stopped early, and does once the lists were read past it', async () => {
    h = await buildStatsHarness();
    const campaign = await queuedThenDeleted(h);
    // One page per cycle: 1/60 of a 1/s refill over a 60 s cycle.
    const poller = h.makePoller({ settings: { budget: 1 / 60, rateCapacity: 90, refillPerSecond: 1 } });

    const missing: number[] = [];
    for (let cycle = 0; cycle < 3; cycle++) {
      const summary = await poller.pollOnce();
      expect(summary.requests).toBe(1);
      missing.push(summary.missing);
      h.clock.advance(MINUTE);
    }

    expect(missing).toEqual([0, 0, 1]); // scheduled, then unsent, then sent: only then is it proven gone
    expect(await eventsOf(h, campaign.id, 'remote_missing')).toHaveLength(1);
  });
});

describe('stats poller: budget', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  /** `count` sent messages in the last days, every `every`-th owned by a campaign. */
  async function seedSent(h: StatsHarness, count: number, every: number) {
    const now = h.clock.now();
    const tracked = [];
    for (let i = count - 1; i >= 0; i--) {
      const remote = seedRemote(h, { createdAt: now - 6 * HOUR - i * 8 * MINUTE });
      if (i % every === 0) tracked.push(await seedCampaignFor(h, remote, { status: 'sent', sentAt: remote.createdAt }));
    }
    return tracked;
  }

  it('spends at most its share of the refill per cycle and picks up the rest next cycle', async () => {
    h = await buildStatsHarness();
    const tracked = await seedSent(h, 500, 10);
    const least = pagesCovering(positionsIn(h, 'sent'), tracked.map((c) => c.remoteId!));
    expect(least).toBe(25);
    // OFAuth's plan shape: 1 request/s; 30 % of a 60 s cycle is 18 requests.
    const poller = h.makePoller({ settings: { rateCapacity: 90, refillPerSecond: 1 } });
    expect(poller.perCycle).toBe(18);

    const first = await poller.pollOnce();
    expect(first).toMatchObject({ requests: 18, deferred: 1 });

    h.clock.advance(MINUTE);
    const second = await poller.pollOnce();
    expect(second).toMatchObject({ requests: least - 18, deferred: 0 });
    expect(first.seen + second.seen).toBe(tracked.length);
    expect((await Promise.all(tracked.map((c) => findSend(h, c.sendId)))).every((send) => send.statsObservedAt !== null)).toBe(true);
  });

  // SQLite only: the client's bucket refills on real time (20 tokens/s), and the poller checks the
  // store (hasSyncDue) before each page. On PostgreSQL that check and the reconciler's claims are
  // round trips, during which the bucket refills, so it may never drop below 70 % and the poller
  // rightly reads on (seen: 10 pages under load, 6 or fewer when idle); the bound assumes a store
  // that answers at once.
  itOnSqliteOnly()('lets sync go first on the same connection: no stats pages once the bucket is below 70 %', async () => {
    h = await buildStatsHarness();
    const operations: string[] = [];
    const bucket = { capacity: 20, refillPerSecond: 20 };
    const client = h.makeClient({ rateLimit: bucket, onRequest: (info) => operations.push(info.operation) });
    const reconciler = h.makeReconciler(client);
    const poller = h.makePoller({ client, settings: { rateCapacity: bucket.capacity, refillPerSecond: bucket.refillPerSecond } });
    const tracked = await seedSent(h, 200, 2); // 10 pages to read
    for (let i = 0; i < 30; i++) await createSimCampaign(h); // 30 creates due

    const [sync, stats] = await Promise.all([reconciler.reconcileOnce(), poller.pollOnce()]);

    expect(sync.created).toBe(30);
    // 30 % of a 20-token bucket: at most 6 pages while sync work was due, then it stepped aside.
    expect(stats.requests).toBeLessThanOrEqual(Math.ceil(0.3 * bucket.capacity));
    expect(stats).toMatchObject({ yieldedToSync: 1, deferred: 1 });
    const lastCreate = operations.lastIndexOf('createMassMessage');
    expect(operations.slice(lastCreate).filter((op) => op === 'listMassMessages')).toHaveLength(0);

    h.clock.advance(MINUTE);
    const next = await poller.pollOnce();
    expect(next).toMatchObject({ deferred: 0, yieldedToSync: 0 });
    expect((await Promise.all(tracked.map((c) => findSend(h, c.sendId)))).every((send) => send.statsObservedAt !== null)).toBe(true);
  });
});
