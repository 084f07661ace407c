import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes, getCampaign, leaseSend, liveMessages, recordRemoteCancel, sendOf } from './support.ts';

describe('reconciler: creates of unknown outcome', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('adopts the message a dropped-after-commit create made, instead of sending it twice', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    h.sim.setFaults({ dropAfterCommit: 1 });

    const first = await h.reconciler.reconcileOnce();

    expect(first).toMatchObject({ ambiguous: 1, created: 0 });
    expect(h.sim.messages()).toHaveLength(1);
    const pending = await getCampaign(h, campaign.id);
    expect(pending.sync).toMatchObject({ state: 'creating', remoteId: null, attempts: 1 });

    h.sim.setFaults({});
    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0); // still settling
    h.clock.advance(30_000);
    const second = await h.reconciler.reconcileOnce();

    expect(second).toMatchObject({ adopted: 1, created: 0 });
    expect(h.sim.messages()).toHaveLength(1);
    const after = await getCampaign(h, campaign.id);
    expect(after.status).toBe('queued');
    expect(after.sync).toMatchObject({ state: 'synced', remoteId: String(h.sim.messages()[0]!.id), syncedRevision: 1 });
    expect(await eventTypes(h, campaign.id)).toContain('adopted');
  });

  it('creates again only after proving a 5xx create left nothing behind', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    expect((await h.reconciler.reconcileOnce()).ambiguous).toBe(1);
    h.sim.setFaults({});
    h.clock.advance(30_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ created: 1, adopted: 0 });
    expect(h.sim.messages()).toHaveLength(1);
    expect(await eventTypes(h, campaign.id)).toEqual(expect.arrayContaining(['sync_error', 'create_absent', 'remote_created']));
  });

  it('after a crash mid-create (expired lease, intent recorded), adopts rather than re-creates', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    // A process claimed the campaign, recorded its intent, sent the create, and died.
    const crashed = h.makeReconciler({ owner: 'crashed-process' });
    const realCreate = h.client.createMassMessage.bind(h.client);
    h.client.createMassMessage = async (...args) => {
      await realCreate(...args);
      throw new Error('process killed before it could record the answer');
    };
    await crashed.reconcileOnce();
    h.client.createMassMessage = realCreate;
    await leaseSend(h, (await sendOf(h, campaign.id)).id, 'crashed-process', h.clock.now() + 120_000);

    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0); // lease still held
    h.clock.advance(120_001);
    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ takeovers: 1, adopted: 1, created: 0 });
    expect(h.sim.messages()).toHaveLength(1);
  });

  it('does not adopt a message already owned by another campaign with the same content', async () => {
    h = await buildSyncHarness();
    const a = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    const b = await createSimCampaign(h, { scheduledAt: a.scheduledAt });
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    await h.reconciler.reconcileOnce();
    h.sim.setFaults({});
    h.clock.advance(30_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ adopted: 0, created: 1 });
    const remoteIds = [(await getCampaign(h, a.id)).sync.remoteId, (await getCampaign(h, b.id)).sync.remoteId];
    expect(new Set(remoteIds).size).toBe(2);
    expect(h.sim.messages()).toHaveLength(2);
  });

  it('a cancel during an ambiguous create deletes whatever the create made', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    h.sim.setFaults({ serverErrorAfterCommit: 1 });
    await h.reconciler.reconcileOnce();
    h.sim.setFaults({});
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });
    h.clock.advance(30_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ adopted: 1, deleted: 1 });
    expect(liveMessages(h)).toHaveLength(0);
    expect((await getCampaign(h, campaign.id)).sync.state).toBe('deleted');
  });
});

describe('reconciler: error classes', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('fails a campaign OFAuth rejects as invalid, with its message', async () => {
    h = await buildSyncHarness();
    // A list OFAuth lacks is refused at create when the lists can be read; while they cannot
    // (here a 500), the campaign is accepted and the sync meets OFAuth's refusal.
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    const campaign = await createSimCampaign(h, { audience: { userLists: [999] } });
    h.sim.setFaults({});

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.failed).toBe(1);
    const after = await getCampaign(h, campaign.id);
    expect(after).toMatchObject({ status: 'failed', failureReason: 'ofauth_rejected' });
    expect(after.sync.lastError).toMatch(/400/);
    expect(h.sim.messages()).toHaveLength(0);
  });

  it('backs off after a retryable failure, visibly, then succeeds', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    h.sim.setFaults({ rateLimitStorm: 1 });

    expect((await h.reconciler.reconcileOnce()).retried).toBe(1);
    const waiting = await getCampaign(h, campaign.id);
    expect(waiting.sync).toMatchObject({ state: 'retrying', attempts: 1 });
    expect(waiting.sync.lastError).toMatch(/429/);
    expect(Date.parse(waiting.sync.nextAttemptAt)).toBeGreaterThan(h.clock.now());

    h.sim.setFaults({});
    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0);
    h.clock.set(Date.parse(waiting.sync.nextAttemptAt));
    expect((await h.reconciler.reconcileOnce()).created).toBe(1);
    expect((await getCampaign(h, campaign.id)).sync).toMatchObject({ state: 'synced', attempts: 0, lastError: null, nextAttemptAt: null });
  });

  it('pauses a connection on an auth error and resumes it by itself once a call succeeds', async () => {
    h = await buildSyncHarness();
    const first = await createSimCampaign(h);
    const second = await createSimCampaign(h, { name: 'second' });
    h.sim.store.connections.get('conn_sandbox')!.status = 'expired';

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ paused: 1, claimed: 1 });
    for (const id of [first.id, second.id]) {
      const c = await getCampaign(h, id);
      expect(c.sync.state).toBe('paused');
      expect(c.sync.lastError).toMatch(/SESSION_EXPIRED/);
    }
    const status = await h.app.inject({ method: 'GET', url: '/v1/sync/status', headers: h.admin });
    expect(status.json().pausedConnections).toEqual([expect.objectContaining({ connectionId: 'conn_sandbox', reason: expect.stringMatching(/SESSION_EXPIRED/) })]);
    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0); // paused: no calls until the probe is due

    h.sim.store.connections.get('conn_sandbox')!.status = 'active';
    h.clock.advance(60_000);
    const resumed = await h.reconciler.reconcileOnce();

    expect(resumed.created).toBe(2);
    expect((await h.app.inject({ method: 'GET', url: '/v1/sync/status', headers: h.admin })).json().pausedConnections).toEqual([]);
  });
});

describe('reconciler: late policy', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('fails a campaign whose send time passed more than LATE_SEND_MAX ago with missed_window', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h, { scheduledAt: new Date(h.clock.now() + 60_000).toISOString() });
    h.clock.advance(60_000 + 15 * 60_000 + 1);

    expect((await h.reconciler.reconcileOnce()).failed).toBe(1);

    expect(await getCampaign(h, campaign.id)).toMatchObject({ status: 'failed', failureReason: 'missed_window' });
    expect(h.sim.messages()).toHaveLength(0);
  });

  it('sends a late campaign at once when it is still inside the window', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h, { scheduledAt: new Date(h.clock.now() + 60_000).toISOString() });
    h.clock.advance(60_000 + 5 * 60_000);

    expect((await h.reconciler.reconcileOnce()).created).toBe(1);
    expect(h.sim.messages()[0]!.hasScheduledDate).toBe(false);
  });

  it('sends it anyway when LATE_SEND_POLICY is send', async () => {
    h = await buildSyncHarness({ settings: { lateSendPolicy: 'send' } });
    await createSimCampaign(h, { scheduledAt: new Date(h.clock.now() + 60_000).toISOString() });
    h.clock.advance(60 * 60_000);

    expect((await h.reconciler.reconcileOnce()).created).toBe(1);
  });
});

describe('reconciler: deletes whose answer was lost', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('counts a refused repeat of a delete that already took effect as deleted', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });
    h.sim.setFaults({ dropAfterCommit: 1 });
    expect((await h.reconciler.reconcileOnce()).retried).toBe(1);
    h.sim.setFaults({});
    h.clock.advance(5 * 60_000);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.deleted).toBe(1);
    const after = await getCampaign(h, campaign.id);
    expect(after.sync).toMatchObject({ state: 'deleted', lastError: null });
    expect(liveMessages(h)).toHaveLength(0);
  });
});

describe('reconciler: races with the stats poller', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('keeps "deleted" when an update is refused because the message was canceled remotely meanwhile', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaign.id}`, headers: h.admin, payload: { message: { text: 'Edited' } } });
    const realUpdate = h.client.updateMassMessage.bind(h.client);
    h.client.updateMassMessage = async (connectionId, id, ...rest) => {
      // Canceled in OFAuth (from elsewhere), and the poller has already recorded it.
      await h.client.deleteMassMessage(connectionId, id);
      await recordRemoteCancel(h, campaign.id);
      return realUpdate(connectionId, id, ...rest);
    };

    await h.reconciler.reconcileOnce();

    const after = await getCampaign(h, campaign.id);
    expect(after).toMatchObject({ status: 'canceled', sync: { state: 'deleted', lastError: null } });
  });
});
