import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCampaignBodySchema } from '../../src/campaigns/schemas.ts';
import { closeDatabase, openDatabase } from '../../src/db/client.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { createServices } from '../../src/services.ts';
import { createReconciler } from '../../src/sync/reconciler.ts';
import { createSyncRepository } from '../../src/sync/repository.ts';
import type { Principal } from '../../src/tokens/service.ts';
import { createOfauthClient } from '../../src/ofauth/client.ts';
import { T0 } from '../helpers/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { buildSyncHarness, defaultSyncSettings, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, simCampaignBody } from './support.ts';

const admin: Principal = { tokenId: 'tok_test', name: 'test', role: 'admin', connectionIds: null };

describe('two reconcilers on one database file', () => {
  let dir: string;
  let sim: StartedSimulator;
  afterEach(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('work a backlog of 500 campaigns into exactly 500 remote messages', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-leases-'));
    const path = join(dir, 'fanout.db');
    const clock = new ManualClock(T0);
    sim = await startSimulator({ clock, rateLimit: false });
    const processes = [0, 1].map((i) => {
      const db = openDatabase(path);
      if (i === 0) runMigrations(db);
      const services = createServices({ db, clock, adminToken: null });
      const client = createOfauthClient({ baseUrl: sim.url, apiKey: sim.apiKey, rateLimit: { capacity: 10_000, refillPerSecond: 10_000 } });
      const reconciler = createReconciler({
        db,
        repository: services.campaignRepository,
        syncRepository: createSyncRepository(db),
        events: services.events,
        client,
        clock,
        settings: { ...defaultSyncSettings, batch: 5 },
        owner: `process-${i}`,
      });
      return { db, services, client, reconciler };
    });
    const ids: string[] = [];
    for (let i = 0; i < 500; i++) {
      const body = simCampaignBody(clock.now(), { name: `c${i}`, message: { text: `Campaign number ${i}` } });
      ids.push(processes[0]!.services.campaigns.create(admin, createCampaignBodySchema.parse(body)).body.id);
    }

    const summaries = await Promise.all(processes.map((p) => p.reconciler.reconcileOnce()));

    expect(summaries[0]!.created + summaries[1]!.created).toBe(500);
    expect(summaries[0]!.created).toBeGreaterThan(0);
    expect(summaries[1]!.created).toBeGreaterThan(0);
    const messages = sim.messages();
    expect(messages).toHaveLength(500);
    const remoteIds = ids.map((id) => processes[1]!.services.campaignRepository.findById(id)!.remoteId);
    expect(new Set(remoteIds).size).toBe(500);
    expect(new Set(messages.map((m) => String(m.id)))).toEqual(new Set(remoteIds));
    for (const p of processes) {
      await p.client.close();
      closeDatabase(p.db);
    }
  });
});

describe('leases', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('never claims a campaign leased by a live owner, and takes over an expired lease', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    h.services.campaignRepository.update(campaign.id, { leaseOwner: 'other', leaseExpiresAt: h.clock.now() + 1_000 });

    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0);
    h.clock.advance(1_000);
    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ takeovers: 1, created: 1 });
    expect(h.services.campaignRepository.findById(campaign.id)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
  });

  it('works connections side by side: a big backlog on one does not hold up another', async () => {
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
