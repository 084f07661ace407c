import { afterEach, describe, expect, it } from 'vitest';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { databaseBackends, settle, startCluster, type Cluster } from '../helpers/instances.ts';

/*
 * A connection's rate-limit bucket lives in one instance at a time, so N instances together stay
 * within OFAuth's limit for it, a handover included. The simulator enforces a small bucket on
 * the manual clock and the clients wait on that clock (virtual time): any request beyond the
 * bucket would come back 429.
 */

const lists = [
  { id: 1, name: 'Fans', size: 1200 },
  { id: 3, name: 'VIP', userIds: [101, 102, 103] },
  { id: 4, name: 'Muted', size: 25 },
];
const BUCKET = { capacity: 6, refillPerSecond: 1 };
/** What a full client bucket spends at once (capacity less its headroom of one). */
const BURST = BUCKET.capacity - 1;

const rateLimited = (counts: Record<string, number>) => Object.entries(counts).filter(([key]) => key.endsWith(' 429'));

describe.each(databaseBackends)('the OFAuth bucket across instances on $name', (backend) => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster.close();
  });

  it('keeps the combined calls of 2 instances on each connection within its bucket, through a handover after a burst', async () => {
    cluster = await startCluster(backend, {
      sim: { connections: ['conn_1', 'conn_2'].map((id) => ({ id, lists })), rateLimit: BUCKET },
      rateLimit: BUCKET,
      isVirtualTime: true,
    });
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    let made = 0;
    const createOn = async (connectionId: string, count: number, via = a) => {
      for (let i = 0; i < count; i++, made++) {
        const body = campaignBody(cluster.clock.now(), { name: `c-${made}`, connectionId, audience: { userLists: [1, 3], excludeUserLists: [4] }, message: { text: `Hello ${made}` } });
        await createCampaign(via.app, cluster.admin, body);
      }
    };
    await createOn('conn_1', BURST);
    await createOn('conn_2', 2 * BURST);
    await a.fanout.leases!.refresh(['conn_1', 'conn_2']);
    await settle([a, b]);
    expect(a.held()).toEqual(['conn_1']);
    expect(b.held()).toEqual(['conn_2']);

    // Side by side, each on its own connection: a spends conn_1's burst, b works conn_2 past its burst.
    // (Counted from here: the creates' list checks are not lane work.)
    a.requests.clear();
    await Promise.all([a.fanout.syncOnce(), b.fanout.syncOnce()]);
    expect(a.requests.get('conn_1')).toBe(BURST);
    expect(cluster.sim.messages('conn_2')).toHaveLength(2 * BURST);
    await a.stop();

    // b takes conn_1 at once, and starts its bucket for it empty: OFAuth still counts what a spent.
    await createOn('conn_1', BURST, b);
    await b.refresh();
    expect(b.held()).toEqual(['conn_1', 'conn_2']);
    b.requests.clear();
    await b.fanout.syncOnce();

    expect(cluster.sim.messages('conn_1')).toHaveLength(2 * BURST);
    expect(b.requests.get('conn_1')).toBe(BURST);
    expect(rateLimited(cluster.sim.requestCounts())).toEqual([]);
    expect(a.requests.has('conn_2')).toBe(false);
  });
});
