import { afterEach, describe, expect, it } from 'vitest';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { databaseBackends, settle, startCluster, type Cluster } from '../helpers/instances.ts';
import { seedRemote, STATS_ROUTE } from '../stats/support.ts';

/*
 * The stats poller's resume point and budget live in the database: the instance that takes a
 * connection over continues a poll cut short by the budget where it stopped, with the budget
 * that is left, instead of starting from the top with a full one.
 */

const MINUTE = 60_000;
const TRACKED = 3;
/** Newer messages from elsewhere, listed above the tracked ones: 25 pages of 20. */
const NEWER = 500;

const statsRequests = (cluster: Cluster) =>
  Object.entries(cluster.sim.requestCounts())
    .filter(([key]) => key.startsWith(STATS_ROUTE))
    .reduce((sum, [, n]) => sum + n, 0);

describe.each(databaseBackends)('stats poller handover on $name', (backend) => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster.close();
  });

  it('continues a poll cut short by its budget on the instance that takes the connection, with the budget left', async () => {
    // OFAuth's plan shape: 30 % of 1 request/s over a 60 s cycle is 18 pages a cycle.
    cluster = await startCluster(backend, { statsSettings: { budget: 0.3, rateCapacity: 90, refillPerSecond: 1, cycleMs: MINUTE, trackDays: 7 } });
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    const ids: string[] = [];
    for (let i = 0; i < TRACKED; i++) {
      const body = campaignBody(cluster.clock.now(), { name: `now-${i}`, scheduledAt: null, audience: { userLists: [1, 3], excludeUserLists: [4] }, message: { text: `Now ${i}` } });
      ids.push((await createCampaign(a.app, cluster.admin, body)).id as string);
    }
    expect((await a.fanout.syncOnce()).created).toBe(TRACKED);
    for (let i = 0; i < NEWER; i++) seedRemote(cluster, { createdAt: cluster.clock.now() + 1_000 + i });
    cluster.clock.advance(3 * MINUTE);
    await settle([a, b]);
    expect(a.held()).toEqual([cluster.sim.connectionId]);

    const first = await a.fanout.statsPoller.pollOnce();
    expect(first).toMatchObject({ connections: 1, requests: 18, deferred: 1 });

    // a shuts down; b takes the connection at once, and the budget a spent is spent for b too.
    await a.stop();
    await b.refresh();
    expect(b.held()).toEqual([cluster.sim.connectionId]);
    const atOnce = await b.fanout.statsPoller.pollOnce();
    expect(atOnce).toMatchObject({ requests: 0, deferred: 1 });

    // A cycle later b reads on from where a stopped: the few pages left, not the whole list again.
    cluster.clock.advance(MINUTE);
    const resumed = await b.fanout.statsPoller.pollOnce();
    expect(resumed.deferred).toBe(0);
    expect(resumed.requests).toBeGreaterThan(0);
    expect(resumed.requests).toBeLessThan(first.requests);
    expect(statsRequests(cluster)).toBe(first.requests + resumed.requests);
    expect(first.seen + resumed.seen).toBe(TRACKED);
    for (const id of ids) {
      const res = await b.app.inject({ method: 'GET', url: `/v1/campaigns/${id}`, headers: cluster.admin });
      expect(res.json().status).toBe('sent');
    }
  });
});
