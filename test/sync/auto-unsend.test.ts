import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, sendOf } from './support.ts';

const MINUTE = 60_000;
const SEND_MS = MINUTE;

/** message.unsendAfter: sync unsends each send that long after it went out, on the injected clock. */
describe('auto-unsend (message.unsendAfter)', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  const getSend = async (sendId: string) => (await h.app.inject({ method: 'GET', url: `/v1/sends/${sendId}`, headers: h.admin })).json();
  const unsendCalls = () => Object.entries(h.sim.requestCounts()).filter(([key]) => key.startsWith('DELETE ')).reduce((n, [, c]) => n + c, 0);

  it('unsends a one-shot exactly unsendAfter after it was sent, not before, and once', async () => {
    h = await buildSyncHarness({ sim: { unsendWindowMs: 30 * MINUTE } });
    const campaign = await createSimCampaign(h, { scheduledAt: null, message: { text: 'PPV', mediaItems: [4211], price: 9.99, previewMediaCount: 1, unsendAfter: '10m' } });
    expect(campaign.message.unsendAfter).toBe(600);
    await h.reconciler.reconcileOnce();
    h.clock.advance(SEND_MS + 1_000);
    await h.fanout.statsPoller.pollOnce();
    const sent = await sendOf(h, campaign.id);
    expect(sent.status).toBe('sent');
    const dueAt = sent.sentAt! + 10 * MINUTE;
    const view = await getSend(sent.id);
    expect(view.unsend).toMatchObject({ dueAt: new Date(dueAt).toISOString(), auto: true, unsentAt: null });
    expect(view.sync.state).toBe('pending');

    h.clock.set(dueAt - 1);
    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0);
    expect(unsendCalls()).toBe(0);

    h.clock.set(dueAt);
    await h.reconciler.reconcileOnce();
    const after = await getSend(sent.id);
    expect(after).toMatchObject({ status: 'unsent', unsend: { unsentAt: new Date(dueAt).toISOString() }, sync: { state: 'synced' } });
    expect(after.events.at(-1)).toMatchObject({ type: 'unsent', data: { auto: true } });
    expect(h.sim.messages()).toMatchObject([{ state: 'unsent' }]);

    h.clock.advance(MINUTE);
    await h.reconciler.reconcileOnce();
    await h.fanout.statsPoller.pollOnce();
    expect(unsendCalls()).toBe(1);
    expect((await getSend(sent.id)).status).toBe('unsent');
  });

  it('unsends each occurrence of a series its own unsendAfter after it went out', async () => {
    h = await buildSyncHarness({ sim: { unsendWindowMs: 60 * MINUTE } });
    const series = await createSimCampaign(h, {
      scheduledAt: null,
      message: { text: 'Weekly PPV', price: 5, unsendAfter: 1_800 },
      recurrence: { cron: '0 * * * *', timezone: 'UTC' },
    });
    await h.fanout.syncOnce();
    const [first] = (await h.app.inject({ method: 'GET', url: `/v1/campaigns/${series.id}/sends`, headers: h.admin })).json().items;
    expect(first).toMatchObject({ kind: 'occurrence', status: 'queued' });

    h.clock.set(Date.parse(first.dueAt) + SEND_MS + 1_000);
    await h.fanout.statsPoller.pollOnce();
    const sent = await getSend(first.id);
    expect(sent.status).toBe('sent');
    h.clock.set(Date.parse(sent.unsend.dueAt));
    await h.reconciler.reconcileOnce();

    expect(await getSend(first.id)).toMatchObject({ status: 'unsent' });
    expect(h.sim.messages().filter((m) => m.state === 'unsent')).toHaveLength(1);
  });

  it('refuses an unsendAfter longer than OFAuth\'s window, or not a duration, with a 400 naming it', async () => {
    h = await buildSyncHarness({ env: { OFAUTH_UNSEND_WINDOW: '1h' } });
    const post = (unsendAfter: unknown) =>
      h.app.inject({ method: 'POST', url: '/v1/campaigns', headers: h.admin, payload: { name: 'x', connectionId: 'conn_sandbox', message: { text: 'x', unsendAfter }, audience: { userLists: [1] }, scheduledAt: null } });

    for (const bad of ['2h', 'soon', 30]) {
      const res = await post(bad);
      expect(res.statusCode, String(bad)).toBe(400);
      expect(JSON.stringify(res.json()), String(bad)).toContain('unsendAfter');
    }
    expect((await post('45m')).json().message.unsendAfter).toBe(2_700);
    expect((await h.app.inject({ method: 'GET', url: '/v1/campaigns', headers: h.admin })).json().items).toHaveLength(1);
  });
});
