import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes, getCampaign, sendOf } from './support.ts';

const MINUTE = 60_000;
/** The simulator's defaults: sending takes a minute, and a sent message can be unsent for five. */
const SEND_MS = MINUTE;
const WINDOW_MS = 5 * MINUTE;

/** POST /v1/sends/:id/unsend and message.unsendAfter, against the simulator over loopback HTTP. */
describe('unsend', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  const unsend = (sendId: string) => h.app.inject({ method: 'POST', url: `/v1/sends/${sendId}/unsend`, headers: h.admin });
  const getSend = async (sendId: string) => (await h.app.inject({ method: 'GET', url: `/v1/sends/${sendId}`, headers: h.admin })).json();
  const deletes = () => Object.entries(h.sim.requestCounts()).filter(([key]) => key.startsWith('DELETE '));

  /** A one-shot sent now, and the poller having seen it sent (with its counts and window). */
  async function sentCampaign(overrides: Record<string, unknown> = {}) {
    const campaign = await createSimCampaign(h, { scheduledAt: null, ...overrides });
    await h.reconciler.reconcileOnce();
    h.clock.advance(SEND_MS + 1_000);
    await h.fanout.statsPoller.pollOnce();
    const send = await sendOf(h, campaign.id);
    expect(send).toMatchObject({ status: 'sent' });
    return { campaign, send };
  }

  it('unsends a sent mass message inside the window: status unsent, an event, counts kept as last seen', async () => {
    h = await buildSyncHarness();
    const { campaign, send } = await sentCampaign();

    const res = await unsend(send.id);

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'unsent', sync: { state: 'synced' }, stats: { sentCount: send.sentCount, viewedCount: send.viewedCount } });
    expect(res.json().unsend.unsentAt).toBe(new Date(h.clock.now()).toISOString());
    const [remote] = h.sim.messages();
    expect(remote).toMatchObject({ state: 'unsent' });
    expect(deletes()).toEqual([['DELETE /v2/access/messages/queue/:id 200', 1]]);
    expect(await getCampaign(h, campaign.id)).toMatchObject({ status: 'unsent' });
    const events = (await getSend(send.id)).events as Array<{ type: string; data: Record<string, unknown> }>;
    expect(events.map((e) => e.type).slice(-3)).toEqual(['unsend_requested', 'sync_started', 'unsent']);
    expect(events.at(-1)!.data).toMatchObject({ auto: false, sentCount: send.sentCount, remoteId: send.remoteId });

    // Exactly once: asking again is a 409, and no call leaves.
    const again = await unsend(send.id);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'already_unsent' });
    await h.reconciler.reconcileOnce();
    expect(deletes()).toEqual([['DELETE /v2/access/messages/queue/:id 200', 1]]);
  });

  it('refuses outside the window as last seen with a 409 saying so, calling nothing', async () => {
    h = await buildSyncHarness();
    const { send } = await sentCampaign();
    h.clock.advance(WINDOW_MS);
    await h.fanout.statsPoller.pollOnce();

    const res = await unsend(send.id);

    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'unsend_window_closed', type: '/problems/unsend_window_closed' });
    expect(res.json().detail).toContain("outside OFAuth's unsend window");
    expect(deletes()).toEqual([]);
    expect(await getSend(send.id)).toMatchObject({ status: 'sent' });
  });

  it("answers 409 with OFAuth's refusal when Fanout did not know the window, and holds the send", async () => {
    h = await buildSyncHarness();
    const { send } = await sentCampaign();
    // As a send polled before the window was recorded: Fanout cannot tell, so OFAuth decides.
    await h.rows.updateSend(send.id, { unsendableUntil: null });
    h.clock.advance(WINDOW_MS);

    const res = await unsend(send.id);

    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'unsend_refused' });
    expect(res.json().detail).toContain('unsend window');
    expect(await getSend(send.id)).toMatchObject({ status: 'sent', sync: { state: 'error' } });
    expect((await unsend(send.id)).json()).toMatchObject({ code: 'unsend_window_closed' });
    expect(deletes()).toEqual([['DELETE /v2/access/messages/queue/:id 400', 1]]);
  });

  it('refuses a send that is not sent yet with a 409', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    await h.reconciler.reconcileOnce();

    const res = await unsend((await sendOf(h, campaign.id)).id);

    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'invalid_state' });
    expect(res.json().detail).toContain('queued');
  });

  it('unsends a test send through the chat-message DELETE with its withUserId', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h, { status: 'draft' });
    const test = (await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/test-send`, headers: h.admin, payload: { userId: 101 } })).json();

    const res = await unsend(test.id);

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ kind: 'test', status: 'unsent' });
    expect(h.sim.chatMessages()).toMatchObject([{ withUserId: 101, unsentAt: new Date(h.clock.now()).toISOString() }]);
    expect(deletes()).toEqual([['DELETE /v2/access/messages/:id 200', 1]]);
    expect(await getCampaign(h, campaign.id)).toMatchObject({ status: 'draft' });
  });

  it('unsends exactly once when the unsend answer is lost after OFAuth applied it', async () => {
    h = await buildSyncHarness();
    const { send } = await sentCampaign();
    h.sim.setFaults({ serverErrorAfterCommit: 1 });

    const res = await unsend(send.id);

    // The 500 came after the unsend was applied; a look at the message settles it as done.
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'unsent' });
    expect(h.sim.messages()).toMatchObject([{ state: 'unsent' }]);
    expect(deletes()).toEqual([['DELETE /v2/access/messages/queue/:id 500', 1]]);
    const types = await eventTypes(h, send.campaignId);
    expect(types.filter((t) => t === 'unsent')).toHaveLength(1);
    expect((await getSend(send.id)).events.find((e: { type: string }) => e.type === 'unsent').data).toMatchObject({ alreadyGone: true });
  });

  it('settles a dropped unsend whose check cannot read the message by asking again, still taking it back once', async () => {
    h = await buildSyncHarness();
    const { send } = await sentCampaign();
    h.sim.setFaults({ dropAfterCommit: 1 });
    // The drop leaves the outcome unknown, and the look that would settle it fails too.
    const getMassMessage = h.client.getMassMessage;
    h.client.getMassMessage = () => Promise.reject(new Error('unreadable'));
    const first = await unsend(send.id);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ status: 'sent', sync: { state: 'retrying' } });
    expect(h.sim.messages()).toMatchObject([{ state: 'unsent' }]);
    h.sim.setFaults({});

    // Asked again, OFAuth says "already canceled": with the look still failing, that may be the
    // echo of the first unsend, so it is neither a refusal nor a second unsend.
    h.clock.advance(MINUTE);
    await h.reconciler.reconcileOnce();
    expect(await getSend(send.id)).toMatchObject({ status: 'sent', sync: { state: 'retrying' } });

    h.client.getMassMessage = getMassMessage;
    h.clock.advance(5 * MINUTE);
    await h.reconciler.reconcileOnce();

    expect(await getSend(send.id)).toMatchObject({ status: 'unsent' });
    expect(h.sim.messages()).toMatchObject([{ state: 'unsent' }]);
    const types = await eventTypes(h, send.campaignId);
    expect(types.filter((t) => t === 'unsent')).toHaveLength(1);
    expect(deletes()).toEqual([
      ['DELETE /v2/access/messages/queue/:id 400', 2],
      ['DELETE /v2/access/messages/queue/:id dropped', 1],
    ]);
  });
});
