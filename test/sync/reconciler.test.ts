import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes, getCampaign, liveMessages } from './support.ts';

describe('reconciler: create, update, delete', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('creates one remote message for a scheduled campaign and marks it queued', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ claimed: 1, created: 1, failed: 0 });
    const after = await getCampaign(h, campaign.id);
    expect(after.status).toBe('queued');
    expect(after.sync).toMatchObject({ state: 'synced', revision: 1, syncedRevision: 1, attempts: 0, lastError: null });
    const [remote, ...others] = h.sim.messages();
    expect(others).toHaveLength(0);
    expect(String(remote!.id)).toBe(after.sync.remoteId);
    expect(remote!.body).toMatchObject({
      text: 'New set drops tonight',
      userLists: [1, 3],
      excludeUserLists: [4],
      price: 9.99,
      scheduledDate: new Date(Date.parse(campaign.scheduledAt)).toISOString().replace('.000Z', 'Z'),
    });
    expect(await eventTypes(h, campaign.id)).toEqual(['created', 'sync_started', 'remote_created']);
  });

  it('converges: a second pass does nothing and sends nothing', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    const requestsBefore = h.sim.requestCounts();

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.claimed).toBe(0);
    expect(h.sim.requestCounts()).toEqual(requestsBefore);
  });

  it('sends the full new body when a queued campaign is edited', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    const patch = await h.app.inject({
      method: 'PATCH',
      url: `/v1/campaigns/${campaign.id}`,
      headers: h.admin,
      payload: { message: { text: 'Edited text' }, audience: { userIds: [77] } },
    });
    expect(patch.json().sync).toMatchObject({ revision: 2, syncedRevision: 1, state: 'pending' });

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ updated: 1, created: 0 });
    const [remote] = h.sim.messages();
    expect(h.sim.messages()).toHaveLength(1);
    expect(remote!.body).toMatchObject({ text: 'Edited text', userIds: [77], userLists: [1, 3], price: 9.99 });
    expect((await getCampaign(h, campaign.id)).sync).toMatchObject({ state: 'synced', revision: 2, syncedRevision: 2 });
  });

  it('deletes the remote copy of a canceled campaign, after which it can be deleted', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });
    const blocked = await h.app.inject({ method: 'DELETE', url: `/v1/campaigns/${campaign.id}`, headers: h.admin });
    expect(blocked.statusCode).toBe(409);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.deleted).toBe(1);
    expect(liveMessages(h)).toHaveLength(0);
    expect((await getCampaign(h, campaign.id)).sync.state).toBe('deleted');
    const deleted = await h.app.inject({ method: 'DELETE', url: `/v1/campaigns/${campaign.id}`, headers: h.admin });
    expect(deleted.statusCode).toBe(204);
  });

  it('treats a 404 on delete as already deleted', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();
    const remoteId = (await getCampaign(h, campaign.id)).sync.remoteId;
    await h.client.deleteMassMessage('conn_sandbox', remoteId);
    h.sim.store.messages.delete(Number(remoteId));
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });

    const summary = await h.reconciler.reconcileOnce();

    expect(summary.deleted).toBe(1);
    expect((await getCampaign(h, campaign.id)).sync.state).toBe('deleted');
  });

  it('never syncs drafts, and syncs them once scheduled', async () => {
    h = await buildSyncHarness();
    const draft = await createSimCampaign(h, { status: 'draft' });
    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0);
    await h.app.inject({ method: 'POST', url: `/v1/campaigns/${draft.id}/schedule`, headers: h.admin });
    expect((await h.reconciler.reconcileOnce()).created).toBe(1);
  });

  it('sends at once, without scheduledDate, a campaign with scheduledAt null', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h, { scheduledAt: null });
    await h.reconciler.reconcileOnce();
    const [remote] = h.sim.messages();
    expect(remote!.hasScheduledDate).toBe(false);
    expect(remote!.body.scheduledDate).toBeUndefined();
  });
});

describe('reconciler: races with the marketer', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('an edit made while the create is in flight is sent as an update right after', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    const realCreate = h.client.createMassMessage.bind(h.client);
    h.client.createMassMessage = async (...args) => {
      const res = await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaign.id}`, headers: h.admin, payload: { message: { text: 'Edited mid-create' } } });
      expect(res.json().sync.state).toBe('creating');
      return realCreate(...args);
    };

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ created: 1, updated: 1 });
    expect(h.sim.messages()).toHaveLength(1);
    expect(h.sim.messages()[0]!.body.text).toBe('Edited mid-create');
    expect((await getCampaign(h, campaign.id)).sync).toMatchObject({ revision: 2, syncedRevision: 2, state: 'synced' });
  });

  it('a cancel made while the create is in flight deletes the new remote copy right after', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    const realCreate = h.client.createMassMessage.bind(h.client);
    h.client.createMassMessage = async (...args) => {
      await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });
      return realCreate(...args);
    };

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ created: 1, deleted: 1 });
    expect(h.sim.messages()).toHaveLength(1);
    expect(liveMessages(h)).toHaveLength(0);
    const after = await getCampaign(h, campaign.id);
    expect(after).toMatchObject({ status: 'canceled', sync: { state: 'deleted' } });
  });
});
