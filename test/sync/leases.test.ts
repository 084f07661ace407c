import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createCampaignBodySchema } from '../../src/campaigns/schemas.ts';
import { loadConfig } from '../../src/config.ts';
import { createFanout } from '../../src/runtime.ts';
import { itOnSqliteOnly, openPeerStores, testBackend, type PeerStores } from '../helpers/backend.ts';
import type { Principal } from '../../src/tokens/service.ts';
import { createOfauthClient } from '../../src/ofauth/client.ts';
import { T0 } from '../helpers/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { buildSyncHarness, defaultSyncSettings, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes, leaseSend, sendOf, simCampaignBody } from './support.ts';

const admin: Principal = { tokenId: 'tok_test', name: 'test', role: 'admin', connectionIds: null };

describe('two reconcilers on one database', () => {
  let shared: PeerStores | undefined;
  let sim: StartedSimulator;
  afterEach(async () => {
    try {
      await sim.close();
    } finally {
      await shared?.dispose();
    }
  });

  it('work a backlog of 500 campaigns into exactly 500 remote messages', async () => {
    const clock = new ManualClock(T0);
    sim = await startSimulator({ clock, rateLimit: false });
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    // Two processes' connections to one database: a SQLite file, or two pools on one PostgreSQL database.
    shared = await openPeerStores(testBackend(), { recurrenceLeadMs: config.recurrence.leadMs });
    const peers = shared.peers;
    // Two processes as server.ts wires them: each its own connection to the file, store and reconciler.
    const processes = await Promise.all(
      [0, 1].map(async (i) => {
        const store = peers[i]!.store;
        const client = createOfauthClient({ baseUrl: sim.url, apiKey: sim.apiKey, rateLimit: { capacity: 10_000, refillPerSecond: 10_000 } });
        const fanout = await createFanout({
          config,
          store,
          clock,
          client,
          logger: Fastify({ logger: { level: 'silent' } }).log,
          syncSettings: { ...defaultSyncSettings, batch: 5 },
          owner: `process-${i}`,
          // The per-send leases alone, as before connection leases: both processes work the one
          // connection, and these prove that still makes exactly one message per campaign.
          connectionLeases: false,
        });
        return { store, fanout };
      }),
    );
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      const body = simCampaignBody(clock.now(), { name: `c${i}`, message: { text: `Campaign number ${i}` } });
      ids.push((await processes[0]!.fanout.services.campaigns.create(admin, createCampaignBodySchema.parse(body))).body.id);
    }

    const summaries = await Promise.all(processes.map((p) => p.fanout.reconciler.reconcileOnce()));

    expect(summaries[0]!.created + summaries[1]!.created).toBe(500);
    expect(summaries[0]!.created).toBeGreaterThan(0);
    expect(summaries[1]!.created).toBeGreaterThan(0);
    const messages = sim.messages();
    expect(messages).toHaveLength(500);
    const remoteIds = await Promise.all(ids.map(async (id) => (await processes[1]!.store.campaigns.find(id))!.send!.remoteId));
    expect(new Set(remoteIds).size).toBe(500);
    expect(new Set(messages.map((m) => String(m.id)))).toEqual(new Set(remoteIds));
    // Closes each process's client and database.
    for (const p of processes) await p.fanout.stop();
    // 500 creates and 1,000 store transactions: on PostgreSQL each is a round trip, which on a
    // busy 2-core machine takes longer than the default 30 s.
  }, 120_000);
});

describe('leases', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('never claims a send leased by a live owner, and takes over an expired lease', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await leaseSend(h, (await sendOf(h, campaign.id)).id, 'other', h.clock.now() + 1_000);

    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0);
    h.clock.advance(1_000);
    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ takeovers: 1, created: 1 });
    expect(await sendOf(h, campaign.id)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
  });

  it('sends no PUT or DELETE once its lease is lost, and leaves the send to the new owner', async () => {
    h = await buildSyncHarness();
    const edited = await createSimCampaign(h);
    const canceled = await createSimCampaign(h, { name: 'to cancel', message: { text: 'Going away' } });
    await h.reconciler.reconcileOnce();
    await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${edited.id}`, headers: h.admin, payload: { message: { text: 'Edited' } } });
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${canceled.id}/cancel`, headers: h.admin });
    const writes: string[] = [];
    const realUpdate = h.client.updateMassMessage.bind(h.client);
    const realDelete = h.client.deleteMassMessage.bind(h.client);
    h.client.updateMassMessage = async (...args) => (writes.push('PUT'), realUpdate(...args));
    h.client.deleteMassMessage = async (...args) => (writes.push('DELETE'), realDelete(...args));
    // Claimed, then stalled long enough for another process to take the leases over before the
    // first write under them (the lease-extending one).
    const stalled = h.makeReconciler({
      owner: 'stalled',
      store: {
        connections: h.store.connections,
        sends: {
          ...h.store.sends,
          async claim(input) {
            const claimed = await h.store.sends.claim(input);
            for (const { send } of claimed.work) await leaseSend(h, send.id, 'thief', h.clock.now() + 120_000);
            return claimed;
          },
        },
      },
    });

    const summary = await stalled.reconcileOnce();

    expect(summary).toMatchObject({ claimed: 2, updated: 0, deleted: 0 });
    expect(writes).toEqual([]);
    const metrics = await h.metrics.registry.metrics();
    expect(metrics).toContain('fanout_sync_attempts_total{operation="update",outcome="lost_lease"} 1');
    expect(metrics).toContain('fanout_sync_attempts_total{operation="delete",outcome="lost_lease"} 1');
    const [afterEdit, afterCancel] = [await sendOf(h, edited.id), await sendOf(h, canceled.id)];
    expect(afterEdit).toMatchObject({ leaseOwner: 'thief', revision: 2, syncedRevision: 1, syncState: 'pending' });
    expect(afterCancel).toMatchObject({ leaseOwner: 'thief', status: 'canceled', remoteDeletedAt: null, syncState: 'pending' });
    expect(await eventTypes(h, edited.id)).not.toContain('remote_updated');
    expect((await eventTypes(h, edited.id)).filter((t) => t === 'sync_started')).toHaveLength(1); // the create's only

    // Once the new owner's lease runs out, the work is done, once.
    h.clock.advance(120_000);
    expect(await h.reconciler.reconcileOnce()).toMatchObject({ takeovers: 2, updated: 1, deleted: 1 });
    expect(writes.sort()).toEqual(['DELETE', 'PUT']);
  });

  // SQLite only: the small lane starts narrow (one step until OFAuth accepts a call), and each
  // step's outcome is a store write. On SQLite that takes no time, so its second create goes out
  // among the big lane's first few; on PostgreSQL each write is several round trips, during which
  // the big lane (already wide) sends a dozen or more creates. Nothing holds the small lane up:
  // its own writes take longer. The ordering cannot hold there, whatever the store does.
  itOnSqliteOnly()('works connections side by side: a big backlog on one does not hold up another', async () => {
    h = await buildSyncHarness({ sim: { connections: [{ id: 'conn_big', lists: [{ id: 1, name: 'Fans', size: 10 }] }, { id: 'conn_small', lists: [{ id: 1, name: 'Fans', size: 10 }] }] } });
    for (let i = 0; i < 30; i++) await createSimCampaign(h, { connectionId: 'conn_big', audience: { userLists: [1] }, message: { text: `big ${i}` } });
    for (let i = 0; i < 2; i++) await createSimCampaign(h, { connectionId: 'conn_small', audience: { userLists: [1] }, message: { text: `small ${i}` } });
    const order: string[] = [];
    const realCreate = h.client.createMassMessage.bind(h.client);
    h.client.createMassMessage = async (connectionId, ...rest) => {
      order.push(connectionId);
      return realCreate(connectionId, ...rest);
    };

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ connections: 2, created: 32 });
    const lastSmall = order.lastIndexOf('conn_small');
    expect(lastSmall).toBeLessThan(6);
  });
});
