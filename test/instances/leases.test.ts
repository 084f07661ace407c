import { afterEach, describe, expect, it } from 'vitest';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { databaseBackends, settle, startCluster, type Cluster, type TestInstance } from '../helpers/instances.ts';

/*
 * Several instances on one database behave as one: each connection is worked by one instance at
 * a time, spread fairly, taken over when its holder dies, handed back when it shuts down. Each
 * instance has its own store handle, client and runtime; all share the manual clock.
 */

const lists = [
  { id: 1, name: 'Fans', size: 1200 },
  { id: 3, name: 'VIP', userIds: [101, 102, 103] },
  { id: 4, name: 'Muted', size: 25 },
];
const connectionIds = (n: number) => Array.from({ length: n }, (_, i) => `conn_${i + 1}`);
const simWith = (n: number) => ({ connections: connectionIds(n).map((id) => ({ id, lists })) });

function campaignOn(connectionId: string, now: number, i = 0) {
  return campaignBody(now, { name: `c-${connectionId}-${i}`, connectionId, audience: { userLists: [1, 3], excludeUserLists: [4] }, message: { text: `Hello ${connectionId} ${i}` } });
}

/** Every connection held by exactly one instance, none above its fair share. */
function expectFairSpread(instances: TestInstance[], connections: string[]): void {
  const held = instances.map((i) => i.held());
  expect(held.flat().sort()).toEqual([...connections].sort());
  const share = Math.ceil(connections.length / instances.length);
  for (const h of held) expect(h.length).toBeLessThanOrEqual(share);
}

describe.each(databaseBackends)('connection leases on $name', (backend) => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster.close();
  });

  it('spreads connections fairly over 2 instances, then 3 when a third starts, without restarting the others', async () => {
    cluster = await startCluster(backend, { sim: simWith(6) });
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    for (const id of connectionIds(6)) await createCampaign(a.app, cluster.admin, campaignOn(id, cluster.clock.now()));
    await a.fanout.leases!.refresh(connectionIds(6));
    // Alone at first, a took every connection; b's start makes a hand half of them back.
    expect(a.held()).toEqual(connectionIds(6));
    await settle([a, b]);
    expectFairSpread([a, b], connectionIds(6));

    const c = await cluster.start('inst-c');
    await settle([a, b, c]);
    expectFairSpread([a, b, c], connectionIds(6));
    for (const i of [a, b, c]) expect(i.held()).toHaveLength(2);

    // Each works only what it holds: together, one message per campaign. (The creates' list
    // checks, made while a was the only live instance, are not lane work: counted from here.)
    for (const i of [a, b, c]) i.requests.clear();
    await Promise.all([a, b, c].map((i) => i.fanout.syncOnce()));
    expect(cluster.sim.messages()).toHaveLength(6);
    for (const i of [a, b, c]) {
      expect([...i.requests.keys()].filter((id) => !i.held().includes(id))).toEqual([]);
      expect(i.requests.size).toBe(2);
    }

    const status = await a.app.inject({ method: 'GET', url: '/v1/sync/status', headers: cluster.admin });
    expect(status.statusCode).toBe(200);
    const listed = status.json().instances as Array<Record<string, unknown>>;
    expect(listed.map((i) => [i.id, i.connectionsHeld])).toEqual([
      ['inst-a', 2],
      ['inst-b', 2],
      ['inst-c', 2],
    ]);
    expect(listed[0]).toEqual({
      id: 'inst-a',
      host: expect.any(String),
      startedAt: new Date(cluster.clock.now()).toISOString(),
      lastHeartbeatAt: new Date(cluster.clock.now()).toISOString(),
      connectionsHeld: 2,
    });
  });

  it("takes a dead instance's connections over within LEASE_MS of its last heartbeat, and works them", async () => {
    cluster = await startCluster(backend, { sim: simWith(2) });
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    for (const id of connectionIds(2)) await createCampaign(a.app, cluster.admin, campaignOn(id, cluster.clock.now()));
    await a.fanout.leases!.refresh(connectionIds(2));
    await settle([a, b]);
    // Each works its own: b makes conn_2's message, then dies.
    await Promise.all([a.fanout.syncOnce(), b.fanout.syncOnce()]);
    expect([...b.requests.keys()]).toEqual(['conn_2']);
    await createCampaign(a.app, cluster.admin, campaignOn('conn_2', cluster.clock.now(), 1));
    expect(a.held()).toEqual(['conn_1']);
    expect(b.held()).toEqual(['conn_2']);

    const lastHeartbeat = cluster.clock.now();
    await b.kill();
    const step = cluster.settings.leaseMs / 6;
    let takenAt: number | null = null;
    while (takenAt === null && cluster.clock.now() - lastHeartbeat <= 2 * cluster.settings.leaseMs) {
      cluster.clock.advance(step);
      await a.refresh();
      if (a.holds('conn_2')) takenAt = cluster.clock.now();
    }
    expect(takenAt).not.toBeNull();
    expect(takenAt! - lastHeartbeat).toBeLessThanOrEqual(cluster.settings.leaseMs);
    // Not before b's lease could have run out: a live holder is never robbed.
    expect(takenAt! - lastHeartbeat).toBeGreaterThanOrEqual(a.fanout.leases!.ttlMs);

    const summary = await a.fanout.syncOnce();
    expect(summary.created).toBe(1);
    expect(cluster.sim.messages().map((m) => m.connectionId).sort()).toEqual(['conn_1', 'conn_2', 'conn_2']);
    expect([...a.requests.keys()].sort()).toEqual(['conn_1', 'conn_2']);
  });

  it('hands its connections back on shutdown, so another instance takes them at once', async () => {
    cluster = await startCluster(backend, { sim: simWith(4) });
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    await createCampaign(a.app, cluster.admin, campaignOn('conn_1', cluster.clock.now()));
    for (const id of connectionIds(4)) await a.store.instances.addConnections([id]);
    await settle([a, b]);
    expect(a.held()).toHaveLength(2);

    await a.stop();
    // No time passes: b does not wait for a's leases to expire.
    await b.refresh();
    expect(b.held()).toEqual(connectionIds(4));
    const live = await b.store.instances.live(0, cluster.clock.now());
    expect(live.map((i) => i.id)).toEqual(['inst-b']);
  });
});
