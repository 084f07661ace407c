import { afterEach, describe, expect, it } from 'vitest';
import { issueToken } from '../helpers/tokens.ts';
import { DAY, HOUR, MINUTE, buildStatsHarness, createSimCampaign, getJson, getStats, seedCampaignFor, seedRemote, setSendStats, type StatsHarness } from './support.ts';

const twoConnections = {
  connections: [
    { id: 'conn_sandbox', lists: [{ id: 1, name: 'Fans', size: 1200 }, { id: 3, name: 'VIP', userIds: [101, 102, 103, 104, 105] }, { id: 4, name: 'Muted', size: 25 }] },
    { id: 'conn_other', lists: [{ id: 1, name: 'Fans', size: 400 }] },
  ],
};

interface Totals {
  campaignsSent: number;
  messagesSent: number;
  views: number;
  purchases: number;
  revenueEstimate: number;
}

describe('GET /v1/stats/summary', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  /** Queued campaigns whose messages OFAuth sent on two UTC days, on two connections, at several prices. */
  async function seed(h: StatsHarness) {
    const now = h.clock.now(); // 2030-01-01T12:00Z
    const plan = [
      { connectionId: 'conn_sandbox', createdAt: now - DAY + HOUR, price: 9.99, audience: 1_180 }, // 2029-12-31
      { connectionId: 'conn_sandbox', createdAt: now - DAY + 2 * HOUR, price: 5, audience: 800 }, // 2029-12-31
      { connectionId: 'conn_other', createdAt: now - DAY + 3 * HOUR, price: 20, audience: 400 }, // 2029-12-31
      { connectionId: 'conn_sandbox', createdAt: now - 3 * HOUR, price: 0, audience: 1_000 }, // 2030-01-01, free
      { connectionId: 'conn_other', createdAt: now - 2 * HOUR, price: 12.5, audience: 300 }, // 2030-01-01
    ];
    const campaigns = [];
    for (const p of plan) campaigns.push(await seedCampaignFor(h, seedRemote(h, p), { status: 'queued' }));
    seedRemote(h, { connectionId: 'conn_sandbox', createdAt: now - 4 * HOUR, price: 3 }); // sent from elsewhere
    return campaigns;
  }

  /** The expected totals, from what the simulator says each message did. */
  function expectedTotals(h: StatsHarness, ids: string[]): Totals {
    const byId = new Map(h.sim.messages().map((m) => [String(m.id), m]));
    let cents = 0;
    const totals = { campaignsSent: 0, messagesSent: 0, views: 0, purchases: 0 };
    for (const id of ids) {
      const remote = byId.get(id)!;
      totals.campaignsSent++;
      totals.messagesSent += remote.sentCount;
      totals.views += remote.viewedCount;
      totals.purchases += remote.purchasedCount;
      cents += remote.purchasedCount * Math.round((remote.body.price ?? 0) * 100);
    }
    return { ...totals, revenueEstimate: cents / 100 };
  }

  it('adds up campaigns sent, messages, views, purchases and revenue per connection and per UTC day', async () => {
    h = await buildStatsHarness({ sim: twoConnections });
    const campaigns = await seed(h);
    const summary = await h.poller.pollOnce();
    expect(summary).toMatchObject({ connections: 2, seen: 5, statusChanges: 5, untrackedSeen: 1 });

    const body = await getJson(h, '/v1/stats/summary?from=2029-12-31T00:00:00Z&to=2030-01-01T23:59:59Z');

    const remote = (i: number) => campaigns[i]!.remoteId!;
    expect(body.totals).toEqual(expectedTotals(h, [0, 1, 2, 3, 4].map(remote)));
    expect(body.days).toEqual([
      { date: '2029-12-31', ...expectedTotals(h, [0, 1, 2].map(remote)) },
      { date: '2030-01-01', ...expectedTotals(h, [3, 4].map(remote)) },
    ]);
    const [other, sandbox] = body.connections;
    expect(other).toMatchObject({ connectionId: 'conn_other', untrackedMessages: 0, totals: expectedTotals(h, [2, 4].map(remote)) });
    expect(other.days.map((d: { date: string }) => d.date)).toEqual(['2029-12-31', '2030-01-01']);
    expect(sandbox).toMatchObject({
      connectionId: 'conn_sandbox',
      untrackedMessages: 1,
      statsPolledAt: '2030-01-01T12:00:00.000Z',
      totals: expectedTotals(h, [0, 1, 3].map(remote)),
      days: [
        { date: '2029-12-31', ...expectedTotals(h, [0, 1].map(remote)) },
        { date: '2030-01-01', ...expectedTotals(h, [3].map(remote)) },
      ],
    });
    expect(body.totals.purchases).toBeGreaterThan(0);

    // Narrowed to one connection and one day.
    const narrow = await getJson(h, '/v1/stats/summary?connectionId=conn_other&from=2030-01-01T00:00:00Z&to=2030-01-01T23:59:59Z');
    expect(narrow.totals).toEqual(expectedTotals(h, [remote(4)]));
    expect(narrow.connections.map((c: { connectionId: string }) => c.connectionId)).toEqual(['conn_other']);
  });

  it('shows a marketer only the connections its token may use', async () => {
    h = await buildStatsHarness({ sim: twoConnections });
    await seed(h);
    await h.poller.pollOnce();
    const marketer = await issueToken(h.app, h.admin, { name: 'other-team', role: 'marketer', connectionIds: ['conn_other'] });

    const mine = await getJson(h, '/v1/stats/summary?from=2029-12-31T00:00:00Z', marketer.headers);
    expect(mine.connections.map((c: { connectionId: string }) => c.connectionId)).toEqual(['conn_other']);
    expect(mine.totals.campaignsSent).toBe(2);

    const notMine = await getJson(h, '/v1/stats/summary?connectionId=conn_sandbox&from=2029-12-31T00:00:00Z', marketer.headers);
    expect(notMine).toMatchObject({ totals: { campaignsSent: 0 }, connections: [], days: [] });
  });

  it('refuses a range that ends before it starts', async () => {
    h = await buildStatsHarness();
    const res = await h.app.inject({ method: 'GET', url: '/v1/stats/summary?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', headers: h.admin });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ path: 'querystring/from' }] });
  });
});

describe('GET /v1/campaigns/:id/stats', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  it('answers a campaign never polled with empty counts and its own price', async () => {
    h = await buildStatsHarness();
    const campaign = await createSimCampaign(h);
    expect(await getStats(h, campaign.id)).toEqual({
      campaignId: campaign.id,
      status: 'scheduled',
      list: null,
      sentAt: null,
      observedAt: null,
      remoteMissingSince: null,
      sentCount: null,
      viewedCount: null,
      purchasedCount: null,
      viewRate: null,
      purchaseRate: null,
      price: 9.99,
      priceSource: 'campaign',
      revenueEstimate: 0,
      snapshots: [],
      hasMore: false,
    });
  });

  it('estimates revenue with the campaign price when OFAuth gave none', async () => {
    h = await buildStatsHarness();
    const remote = seedRemote(h, { createdAt: h.clock.now() - HOUR, price: 5 });
    const campaign = await seedCampaignFor(h, remote, { status: 'sent', sentAt: remote.createdAt, price: 7.5 });
    await setSendStats(h, campaign.sendId, { sentCount: 100, viewedCount: 40, purchasedCount: 3 });
    expect(await getStats(h, campaign.id)).toMatchObject({ price: 7.5, priceSource: 'campaign', revenueEstimate: 22.5, viewRate: 0.4, purchaseRate: 0.03 });
  });

  it('sums a series over its sends and lists each one, newest first', async () => {
    h = await buildStatsHarness();
    // Hourly at :00 UTC; with RECURRENCE_LEAD (1 h) the 13:00 occurrence becomes a send at once.
    h.clock.set(Date.UTC(2030, 0, 1, 12, 30, 0));
    const series = await createSimCampaign(h, { scheduledAt: null, recurrence: { cron: '0 * * * *', timezone: 'UTC' } });
    expect((await h.fanout.syncOnce()).seriesSends).toBe(1);
    h.clock.set(Date.UTC(2030, 0, 1, 13, 0, 0));
    expect((await h.fanout.syncOnce()).seriesSends).toBe(1); // the 14:00 one
    h.clock.advance(20 * MINUTE); // the 13:00 one went out at 13:00 and sold for a while
    const poll = await h.poller.pollOnce();
    expect(poll).toMatchObject({ seen: 2, missing: 0 });

    const sendsOf = await h.store.campaigns.listSends(series.id, { limit: 10 });
    const [later, first] = sendsOf;
    expect(sendsOf).toHaveLength(2);
    expect(first).toMatchObject({ status: 'sent', remoteList: 'sent' });
    expect(later).toMatchObject({ status: 'queued', remoteList: 'scheduled' });
    const stats = await getStats(h, series.id);
    const remote = h.sim.messages().find((m) => String(m.id) === first!.remoteId)!;
    expect(remote.purchasedCount).toBeGreaterThan(0);
    expect(stats).toMatchObject({
      campaignId: series.id,
      status: 'scheduled',
      list: null,
      sentAt: new Date(first!.sentAt!).toISOString(),
      remoteMissingSince: null,
      sentCount: remote.sentCount + (later!.sentCount ?? 0),
      purchasedCount: remote.purchasedCount + (later!.purchasedCount ?? 0),
      price: 9.99,
      priceSource: 'campaign',
      hasMore: false,
      sendsHasMore: false,
    });
    expect(stats.revenueEstimate).toBeCloseTo(remote.purchasedCount * 9.99, 2);
    expect(stats.sends).toEqual([
      {
        id: later!.id,
        kind: 'occurrence',
        occurrenceAt: '2030-01-01T14:00:00.000Z',
        status: 'queued',
        sentAt: null,
        sentCount: later!.sentCount,
        viewedCount: later!.viewedCount,
        purchasedCount: later!.purchasedCount,
        revenueEstimate: 0,
      },
      {
        id: first!.id,
        kind: 'occurrence',
        occurrenceAt: '2030-01-01T13:00:00.000Z',
        status: 'sent',
        sentAt: new Date(first!.sentAt!).toISOString(),
        sentCount: remote.sentCount,
        viewedCount: remote.viewedCount,
        purchasedCount: remote.purchasedCount,
        revenueEstimate: stats.revenueEstimate,
      },
    ]);
    // Each snapshot names its send; the poller's events name theirs too.
    expect(new Set(stats.snapshots.map((s: { sendId: string }) => s.sendId))).toEqual(new Set([first!.id, later!.id]));
    const events = (await getJson(h, `/v1/campaigns/${series.id}/events?limit=500`)).items.filter((e: { actor: string }) => e.actor === 'system:stats');
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e: { sendId: string | null }) => e.sendId === first!.id || e.sendId === later!.id)).toBe(true);

    // The summary counts sends: the series' one delivery so far.
    const summary = await getJson(h, '/v1/stats/summary?from=2030-01-01T00:00:00Z&to=2030-01-01T23:59:59Z');
    expect(summary.totals).toMatchObject({ campaignsSent: 1, messagesSent: remote.sentCount, purchases: remote.purchasedCount });
  });

  it('answers 404 for a campaign on a connection the token may not use', async () => {
    h = await buildStatsHarness();
    const campaign = await createSimCampaign(h);
    const marketer = await issueToken(h.app, h.admin, { name: 'elsewhere', role: 'marketer', connectionIds: ['conn_elsewhere'] });
    const res = await h.app.inject({ method: 'GET', url: `/v1/campaigns/${campaign.id}/stats`, headers: marketer.headers });
    expect(res.statusCode).toBe(404);
    const unknown = await h.app.inject({ method: 'GET', url: '/v1/campaigns/cmp_01JH8Z6Q4W5X2V9T3B7N0M1K8D/stats', headers: h.admin });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('stats routes in the OpenAPI document', () => {
  let h: StatsHarness;
  afterEach(async () => {
    await h.close();
  });

  it('documents both routes under the stats tag, with bearer security and examples', async () => {
    h = await buildStatsHarness();
    const doc = (await h.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const path of ['/v1/campaigns/{id}/stats', '/v1/stats/summary']) {
      const op = doc.paths[path].get;
      expect(op).toMatchObject({ tags: ['stats'], security: [{ bearerAuth: [] }] });
      expect(op.summary).toEqual(expect.any(String));
      const schema = op.responses['200'].content['application/json'].schema;
      expect(JSON.stringify(schema)).toContain('"example"');
    }
    const query = doc.paths['/v1/stats/summary'].get.parameters.map((p: { name: string }) => p.name);
    expect(query).toEqual(expect.arrayContaining(['connectionId', 'from', 'to']));
  });
});
