import { afterEach, describe, expect, it } from 'vitest';
import { materialiseFollowUps } from '../../src/sync/follow-up-materialise.ts';
import { createCampaign } from '../helpers/factories.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { eventTypes, getCampaign, sendOf, simCampaignBody } from './support.ts';

/*
 * Follow-ups to the fans who did not buy, end to end: the API, the sync and the stats poller
 * against the simulator over loopback HTTP, on one manual clock. The simulator's buyers are
 * seeded (the same fans buy in every run) and accumulate as a message's purchase count grows.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const FANS = Array.from({ length: 200 }, (_, i) => 5_000 + i);
const followUp = { after: '1h', message: { text: 'Last chance: 50% off tonight', price: 4.99 }, audience: 'non_buyers' };

describe('follow-ups to fans who did not buy', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  /** Creates a PPV sent at once, syncs it, and lets the poller see it sent. */
  async function sentPpv(audience: Record<string, unknown>) {
    const campaign = await createCampaign(h.app, h.admin, simCampaignBody(h.clock.now(), { audience, scheduledAt: null, followUps: [followUp] }));
    await h.fanout.syncOnce();
    h.clock.advance(2 * MINUTE); // the simulator sends in 60 s
    await h.fanout.statsPoller.pollOnce();
    const original = await sendOf(h, campaign.id);
    expect(original.status).toBe('sent');
    return { campaign, original };
  }

  /** Runs sync ticks until nothing is left to do (bounded: a bug must fail, not hang). */
  async function syncUntilIdle() {
    for (let tick = 0; tick < 10; tick++) {
      const summary = await h.fanout.syncOnce();
      if (summary.claimed === 0 && summary.followUpSends === 0) return;
    }
    throw new Error('sync never went idle');
  }

  const followUpsOf = async (campaignId: string) => (await h.store.campaigns.listSends(campaignId, { limit: 50 })).filter((s) => s.kind === 'follow_up');
  const simMessage = (remoteId: string | null) => h.sim.messages().find((m) => String(m.id) === remoteId)!;

  it('sends nothing before `after`, then sends to the fan ids minus the buyers read right before', async () => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userIds: FANS });
    h.clock.set(original.sentAt! + HOUR - MINUTE);
    await syncUntilIdle();
    expect(await followUpsOf(campaign.id)).toEqual([]);

    h.clock.set(original.sentAt! + HOUR);
    const buyersBefore = h.sim.audienceOf(Number(original.remoteId))!.buyers;
    await syncUntilIdle();

    const [made] = await followUpsOf(campaign.id);
    expect(made).toMatchObject({ kind: 'follow_up', status: 'queued', parentSendId: original.id, followUpIndex: 0, dueAt: original.sentAt! + HOUR });
    const remote = simMessage(made!.remoteId);
    const buyers = h.sim.audienceOf(Number(original.remoteId))!.buyers;
    expect(buyers.length).toBeGreaterThan(0);
    expect(buyers).toEqual(buyersBefore); // the clock did not move: the same buyers
    expect(remote.body).toMatchObject({ text: followUp.message.text, price: 4.99 });
    expect(remote.body.userIds).toEqual(FANS.filter((id) => !buyers.includes(id)));
    expect(remote.body.excludeUserLists).toBeUndefined();
    const recipients = h.sim.audienceOf(Number(made!.remoteId))!.recipients;
    expect(recipients.filter((id) => buyers.includes(id))).toEqual([]);
    expect(h.sim.lists(h.sim.connectionId).filter((l) => l.name.startsWith('fanout-buyers-'))).toEqual([]);

    // The campaign still shows its own send; the follow-up has its own sync state and stats.
    const view = await getCampaign(h, campaign.id);
    expect(view).toMatchObject({ status: 'sent', sync: { remoteId: original.remoteId }, followUps: [{ after: '1h', audience: 'non_buyers' }] });
    h.clock.advance(2 * MINUTE);
    await h.fanout.statsPoller.pollOnce();
    const res = await h.app.inject({ method: 'GET', url: `/v1/sends/${made!.id}`, headers: h.admin });
    expect(res.json()).toMatchObject({ kind: 'follow_up', status: 'sent', followUp: { parentSendId: original.id, path: 'fan_ids', buyers: buyers.length, buyersListId: null } });
    expect(res.json().stats.sentCount).toBe(FANS.length - buyers.length);
    const stats = (await h.app.inject({ method: 'GET', url: `/v1/campaigns/${campaign.id}/stats`, headers: h.admin })).json();
    expect(stats.sentCount).toBe(FANS.length);
    expect(stats.followUps).toEqual([expect.objectContaining({ id: made!.id, kind: 'follow_up', sentCount: FANS.length - buyers.length })]);
    expect(await eventTypes(h, campaign.id)).toEqual(expect.arrayContaining(['follow_up_created', 'follow_up_audience', 'remote_created']));
  });

  it('with a list audience, makes one OFAuth list of the buyers, fills it and excludes it', async () => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userLists: [2, 3], excludeUserLists: [4] });
    h.clock.set(original.sentAt! + HOUR);
    await syncUntilIdle();

    const [made] = await followUpsOf(campaign.id);
    expect(made!.status).toBe('queued');
    const buyers = h.sim.audienceOf(Number(original.remoteId))!.buyers;
    expect(buyers.length).toBeGreaterThan(20); // more than one step of adds
    const lists = h.sim.lists(h.sim.connectionId).filter((l) => l.name === `fanout-buyers-${made!.id}`);
    expect(lists).toHaveLength(1);
    expect(lists[0]!.members).toEqual([...buyers].sort((a, b) => a - b));
    const remote = simMessage(made!.remoteId);
    expect(remote.body).toMatchObject({ userLists: [2, 3], excludeUserLists: [4, lists[0]!.id] });
    expect(h.sim.audienceOf(Number(made!.remoteId))!.recipients.filter((id) => buyers.includes(id))).toEqual([]);
    expect(made!.followUp).toMatchObject({ path: 'buyers_list', buyersListId: lists[0]!.id, buyersAdded: buyers.length });
    // One add per buyer, no more (nothing failed, so nothing was repeated).
    expect(h.sim.requestCounts()['POST /v2/access/users/lists/:id/users/:userId 200']).toBe(buyers.length);
  });

  it('with chat filters, follows up the fans the filters resolved to for the original, not the chats as they are later', async () => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userIds: FANS, chatFilters: ['priority', 'who_tipped'] });
    const reached = h.sim.audienceOf(Number(original.remoteId))!.recipients;
    expect(reached.length).toBeGreaterThan(FANS.length); // the chats' fans joined the fan ids
    const chatReads = h.sim.requestCounts()['GET /v2/access/chats 200'];
    // The chats change after the send: a new priority fan, and the old ones no longer in either filter.
    const chats = h.sim.store.connections.get(h.sim.connectionId)!.chats;
    for (const chat of chats.values()) Object.assign(chat, { priority: false, tipped: false });
    chats.set(9_999, { fanId: 9_999, priority: true, unread: false, tipped: false, lastActivityAt: h.clock.now() });

    h.clock.set(original.sentAt! + HOUR);
    await syncUntilIdle();

    const [made] = await followUpsOf(campaign.id);
    expect(made).toMatchObject({ status: 'queued', followUp: { path: 'fan_ids' } });
    const buyers = h.sim.audienceOf(Number(original.remoteId))!.buyers;
    expect(h.sim.audienceOf(Number(made!.remoteId))!.recipients).toEqual(reached.filter((id) => !buyers.includes(id)));
    expect(h.sim.requestCounts()['GET /v2/access/chats 200']).toBe(chatReads); // nothing resolved afresh
    expect(campaign.audience.chatFilters).toEqual(['priority', 'who_tipped']);
  });

  it.each([
    ['dropped', { dropAfterCommit: 1 }],
    ['answered 500', { serverErrorAfterCommit: 1 }],
  ])('builds the buyers list exactly once when its create was %s after committing', async (_label, faults) => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userLists: [3, 2] });
    h.clock.set(original.sentAt! + HOUR);
    await materialiseFollowUps({ sends: h.store.sends, clock: h.clock });
    h.sim.setFaults(faults);
    expect((await h.reconciler.reconcileOnce()).ambiguous).toBe(1);
    h.sim.setFaults({});
    const [pending] = await followUpsOf(campaign.id);
    expect(pending).toMatchObject({ status: 'pending', syncState: 'retrying' });
    expect(pending!.followUp).toMatchObject({ buyersListId: null, buyersListStartedAt: original.sentAt! + HOUR });

    expect((await h.reconciler.reconcileOnce()).claimed).toBe(0); // settling
    h.clock.advance(h.settings.settleMs);
    await syncUntilIdle();

    const [made] = await followUpsOf(campaign.id);
    expect(made!.status).toBe('queued');
    const named = h.sim.lists(h.sim.connectionId).filter((l) => l.name === `fanout-buyers-${made!.id}`);
    expect(named).toHaveLength(1);
    expect(made!.followUp!.buyersListId).toBe(named[0]!.id);
    expect(h.sim.requestCounts()['POST /v2/access/users/lists 200'] ?? 0).toBe(0); // the one create never answered 200
    const events = (await h.app.inject({ method: 'GET', url: `/v1/sends/${made!.id}`, headers: h.admin })).json().events;
    expect(events.filter((e: { type: string }) => e.type === 'buyers_list_created').map((e: { data: unknown }) => e.data)).toEqual([
      expect.objectContaining({ listId: named[0]!.id, adopted: true }),
    ]);
  });

  it('fails a follow-up whose every fan bought, and never sends it', async () => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userIds: FANS });
    h.clock.set(original.sentAt! + HOUR);
    const buyers = h.sim.audienceOf(Number(original.remoteId))!.buyers;
    // The original went to its buyers only (as if the others had left): nobody is left.
    await h.store.campaigns.mutate(campaign.id, h.clock.now(), () => ({ campaign: { audience: { ...campaign.audience, userIds: buyers } } }));
    await syncUntilIdle();
    const [made] = await followUpsOf(campaign.id);
    expect(made).toMatchObject({ status: 'failed', reason: 'empty_audience', remoteId: null });
    expect(h.sim.messages()).toHaveLength(1);
  });

  it('cancel stops the follow-ups still to come and those not yet sent, and leaves the campaign sent', async () => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userIds: FANS });
    h.clock.set(original.sentAt! + HOUR);
    await materialiseFollowUps({ sends: h.store.sends, clock: h.clock });
    const [pending] = await followUpsOf(campaign.id);
    expect(pending!.status).toBe('pending');

    const res = await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('sent');
    await syncUntilIdle();
    expect((await followUpsOf(campaign.id)).map((s) => [s.status, s.reason])).toEqual([['canceled', 'campaign_canceled']]);
    expect(h.sim.messages()).toHaveLength(1);
    // A second cancel has nothing left to stop.
    expect((await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin })).statusCode).toBe(409);
  });

  it('a campaign canceled before its send went out never makes a follow-up', async () => {
    h = await buildSyncHarness();
    const campaign = await createCampaign(h.app, h.admin, simCampaignBody(h.clock.now(), { audience: { userIds: FANS }, followUps: [followUp] }));
    expect((await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin })).json().status).toBe('canceled');
    h.clock.advance(3 * HOUR);
    await syncUntilIdle();
    expect(await followUpsOf(campaign.id)).toEqual([]);
    expect(h.sim.messages()).toEqual([]);
  });

  it('a series makes a follow-up per occurrence sent, outside its sendCounts and stats', async () => {
    h = await buildSyncHarness();
    const recurrence = { cron: '0 13 * * *', timezone: 'UTC', endsAt: null, maxOccurrences: 1 };
    const campaign = await createCampaign(h.app, h.admin, simCampaignBody(h.clock.now(), { audience: { userIds: FANS }, scheduledAt: null, recurrence, followUps: [followUp] }));
    await syncUntilIdle(); // T0 is 12:00: the 13:00 occurrence is made (RECURRENCE_LEAD 1h) and queued
    h.clock.set(Date.UTC(2030, 0, 1, 13, 2));
    await h.fanout.statsPoller.pollOnce();
    const [occurrence] = (await h.store.campaigns.listSends(campaign.id, { limit: 10 })).filter((s) => s.kind === 'occurrence');
    expect(occurrence!.status).toBe('sent');

    h.clock.set(occurrence!.sentAt! + HOUR);
    await syncUntilIdle();
    const [made] = await followUpsOf(campaign.id);
    expect(made).toMatchObject({ status: 'queued', parentSendId: occurrence!.id });
    const buyers = h.sim.audienceOf(Number(occurrence!.remoteId))!.buyers;
    expect(h.sim.audienceOf(Number(made!.remoteId))!.recipients).toEqual(FANS.filter((id) => !buyers.includes(id)));
    h.clock.advance(2 * MINUTE);
    await h.fanout.statsPoller.pollOnce();
    const view = await getCampaign(h, campaign.id);
    expect(view.sendCounts).toMatchObject({ sent: 1, queued: 0 });
    expect(view.stats.sentCount).toBe(FANS.length);
    const stats = (await h.app.inject({ method: 'GET', url: `/v1/campaigns/${campaign.id}/stats`, headers: h.admin })).json();
    expect(stats.sentCount).toBe(FANS.length);
    expect(stats.sends.map((s: { kind: string }) => s.kind).sort()).toEqual(['follow_up', 'occurrence']);
  });

  it('a test send of a PPV with follow-ups never makes a follow-up', async () => {
    h = await buildSyncHarness();
    const campaign = await createCampaign(h.app, h.admin, simCampaignBody(h.clock.now(), { audience: { userIds: FANS }, status: 'draft', followUps: [followUp] }));
    const res = await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/test-send`, headers: h.admin, payload: { userId: 101 } });
    expect(res.json()).toMatchObject({ kind: 'test', status: 'sent' });
    h.clock.advance(3 * HOUR);
    await syncUntilIdle();
    expect(await followUpsOf(campaign.id)).toEqual([]);
    expect(h.sim.messages()).toEqual([]);
  });

  it("an edit bringing a series' follow-up sooner makes it at the new time for occurrences already sent", async () => {
    h = await buildSyncHarness();
    const recurrence = { cron: '0 13 * * *', timezone: 'UTC', endsAt: null, maxOccurrences: 2 };
    const later = { ...followUp, after: '6h' };
    const campaign = await createCampaign(h.app, h.admin, simCampaignBody(h.clock.now(), { audience: { userIds: FANS }, scheduledAt: null, recurrence, followUps: [later] }));
    await syncUntilIdle();
    h.clock.set(Date.UTC(2030, 0, 1, 13, 2));
    await h.fanout.statsPoller.pollOnce();
    const [occurrence] = (await h.store.campaigns.listSends(campaign.id, { limit: 10 })).filter((s) => s.kind === 'occurrence');
    expect(occurrence!.status).toBe('sent');
    h.clock.set(occurrence!.sentAt! + HOUR);
    await syncUntilIdle();
    expect(await followUpsOf(campaign.id)).toEqual([]);

    const res = await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaign.id}`, headers: h.admin, payload: { followUps: [followUp] } });
    expect(res.statusCode).toBe(200);
    await syncUntilIdle();
    const [made] = await followUpsOf(campaign.id);
    expect(made).toMatchObject({ status: 'queued', parentSendId: occurrence!.id, dueAt: occurrence!.sentAt! + HOUR });
  });

  it('a cancel while the buyers list is being filled stops the follow-up before its create', async () => {
    h = await buildSyncHarness();
    const { campaign, original } = await sentPpv({ userLists: [2, 3] });
    h.clock.set(original.sentAt! + HOUR);
    // The marketer cancels while the sync is adding buyers (one method replaced, the call still made).
    const add = h.client.addUserToList.bind(h.client);
    let isCanceled = false;
    h.client.addUserToList = async (...args) => {
      if (!isCanceled) {
        isCanceled = true;
        expect((await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/cancel`, headers: h.admin })).statusCode).toBe(200);
      }
      return add(...args);
    };
    await syncUntilIdle();
    const [made] = await followUpsOf(campaign.id);
    expect(made).toMatchObject({ status: 'canceled', reason: 'campaign_canceled', remoteId: null, createStartedAt: null });
    expect(h.sim.messages()).toHaveLength(1);
  });
});
