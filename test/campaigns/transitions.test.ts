import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignStatus } from '../../src/campaigns/model.ts';
import type { SendChanges } from '../../src/sends/model.ts';
import { forceOneShot, sendOf, updateSend } from '../helpers/rows.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

type Action = 'edit' | 'schedule' | 'cancel' | 'delete';

// Written out by hand rather than imported from transitions.ts, so the test states the rules
// independently of the code it checks.
const allowed: Record<Action, CampaignStatus[]> = {
  edit: ['draft', 'scheduled', 'queued'],
  schedule: ['draft'],
  cancel: ['draft', 'scheduled', 'queued'],
  delete: ['draft', 'canceled', 'failed'],
};
const statuses: CampaignStatus[] = ['draft', 'scheduled', 'queued', 'sending', 'sent', 'canceled', 'failed'];
const successCode: Record<Action, number> = { edit: 200, schedule: 200, cancel: 200, delete: 204 };

const cases = (Object.keys(allowed) as Action[]).flatMap((action) =>
  statuses.map((status) => ({ action, status, isAllowed: allowed[action].includes(status) })),
);

describe('campaign transitions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  /**
   * Puts a campaign into any status by writing its rows, as the reconciler would. The send's sync
   * columns are recomputed so it is one the reconciler could actually leave behind.
   */
  async function campaignIn(status: CampaignStatus, extra: SendChanges & { scheduledAt?: number | null } = {}): Promise<string> {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { status: 'draft' }));
    const { scheduledAt, ...sendFields } = extra;
    if (scheduledAt !== undefined) {
      await t.rows.updateCampaign(created.id, { scheduledAt });
      sendFields.dueAt = scheduledAt;
    }
    await forceOneShot(t.rows, created.id, status, sendFields, t.clock.now());
    return created.id;
  }

  function act(action: Action, id: string) {
    const url = `/v1/campaigns/${id}`;
    switch (action) {
      case 'edit':
        return t.app.inject({ method: 'PATCH', url, headers: t.admin, payload: { message: { text: 'edited' } } });
      case 'schedule':
        return t.app.inject({ method: 'POST', url: `${url}/schedule`, headers: t.admin });
      case 'cancel':
        return t.app.inject({ method: 'POST', url: `${url}/cancel`, headers: t.admin });
      case 'delete':
        return t.app.inject({ method: 'DELETE', url, headers: t.admin });
    }
  }

  it.each(cases)('$action from $status: allowed=$isAllowed', async ({ action, status, isAllowed }) => {
    const id = await campaignIn(status);
    const before = await t.rows.snapshot();
    const res = await act(action, id);
    if (isAllowed) {
      expect(res.statusCode, res.body).toBe(successCode[action]);
      return;
    }
    expect(res.statusCode, res.body).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 409, code: 'invalid_state' });
    expect(res.json().detail).toContain(status);
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it('moves each allowed action to the expected status', async () => {
    const draft = await campaignIn('draft');
    expect((await act('schedule', draft)).json().status).toBe('scheduled');
    expect((await act('cancel', draft)).json().status).toBe('canceled');
    expect((await act('delete', draft)).statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${draft}`, headers: t.admin });
    expect(gone.statusCode).toBe(404);
  });

  describe('editing a queued campaign', () => {
    it('is allowed while scheduledAt is more than 60 s away', async () => {
      const id = await campaignIn('queued', { scheduledAt: t.clock.now() + 60_001 });
      const res = await act('edit', id);
      expect(res.statusCode, res.body).toBe(200);
    });

    it('is refused at exactly 60 s and closer, naming the reason', async () => {
      const id = await campaignIn('queued', { scheduledAt: t.clock.now() + 60_001 });
      t.clock.advance(1);
      const res = await act('edit', id);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('too_close_to_send');
    });

    it('is refused when it has no send time (it goes out as soon as synced)', async () => {
      const id = await campaignIn('queued', { scheduledAt: null });
      const res = await act('edit', id);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('too_close_to_send');
    });
  });

  it('refuses to schedule a draft whose send time has passed', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { status: 'draft' }));
    t.clock.advance(2 * 3_600_000);
    const res = await act('schedule', created.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('send_time_passed');
  });

  describe('DELETE while the remote copy is in flight', () => {
    it('answers 409 for a canceled campaign whose remote copy still has to be deleted, then 204 once it is', async () => {
      const id = await campaignIn('queued', { remoteId: 'mm_1', syncedRevision: 1, syncState: 'synced', scheduledAt: t.clock.now() + 3_600_000 });
      const canceled = await act('cancel', id);
      expect(canceled.json()).toMatchObject({ status: 'canceled', sync: { state: 'pending' } });
      expect((await sendOf(t.rows, id))!.syncDueAt).not.toBeNull();

      const refused = await act('delete', id);
      expect(refused.statusCode).toBe(409);
      expect(refused.json().code).toBe('sync_in_progress');

      // The reconciler records the remote deletion.
      await updateSend(t.rows, (await sendOf(t.rows, id))!.id, { remoteDeletedAt: t.clock.now() }, t.clock.now());
      expect((await act('delete', id)).statusCode).toBe(204);
    });

    it('answers 409 for a canceled campaign whose create may have happened', async () => {
      const id = await campaignIn('canceled', { createStartedAt: t.clock.now(), createRevision: 1 });
      const res = await act('delete', id);
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('sync_in_progress');
    });

    it('answers 409 while a reconciler holds a live lease on it', async () => {
      const id = await campaignIn('failed', { leaseOwner: 'worker-1', leaseExpiresAt: t.clock.now() + 30_000 });
      expect((await act('delete', id)).statusCode).toBe(409);
      t.clock.advance(30_000);
      expect((await act('delete', id)).statusCode).toBe(204);
    });
  });
});
