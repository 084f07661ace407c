import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Campaign, FollowUp } from '../../src/campaigns/model.ts';
import { SYNC_ACTOR } from '../../src/events/types.ts';
import { newSendId } from '../../src/ids.ts';
import type { NewSend, Send } from '../../src/sends/model.ts';
import type { Store } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';
import { DAY, HOUR, MINUTE, T0, audience, changeSend, createOneShot, message, sentRemotely } from './fixtures.ts';
import { usePeerStores } from './peers.ts';

/*
 * The follow-up materialiser's store methods: which sent originals still owe a follow-up, and
 * making one exactly once, also when two processes race to make it.
 */

const followUp = (afterMs: number): FollowUp => ({ afterMs, message: message({ text: 'Still thinking about it?', price: 4.99 }), audience: 'non_buyers' });
const withFollowUps = (list: FollowUp[]): Partial<Campaign> => ({ followUps: list, followUpCount: list.length });
const counts = { sentCount: 10, viewedCount: 5, purchasedCount: 1 };

/** A one-shot campaign whose send went out at `sentAt` (remote id `remoteId`). */
async function sentOriginal(store: Store, at: number, sentAt: number, remoteId: string, overrides: Partial<Campaign> = withFollowUps([followUp(HOUR)])): Promise<Send> {
  const { send } = await createOneShot(store, at, overrides);
  return changeSend(store, send, sentAt, sentRemotely(remoteId, sentAt, counts));
}

function followUpOf(original: Send, index: number, now: number): NewSend {
  const id = newSendId(now);
  return {
    id,
    campaignId: original.campaignId,
    connectionId: original.connectionId,
    kind: 'follow_up',
    occurrenceAt: null,
    dueAt: (original.sentAt ?? now) + HOUR,
    revision: 1,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
    parentSendId: original.id,
    followUpIndex: index,
    followUp: {
      parentRemoteId: original.remoteId!,
      audience: audience({ userIds: [11, 12], userLists: [] }),
      message: followUp(HOUR).message,
      path: 'fan_ids',
      buyersListName: `fanout-buyers-${id}`,
      buyersListStartedAt: null,
      buyersListId: null,
      buyerIds: null,
      buyersCursor: null,
      buyersAdded: 0,
    },
  };
}

const made = (original: Send) => ({ type: 'follow_up_created' as const, actor: SYNC_ACTOR, sendId: original.id, data: { parentSendId: original.id, index: 0, dueAt: new Date(T0).toISOString() } });

export function defineFollowUpContract(backend: StoreBackend): void {
  describe('follow-ups', () => {
    let store: Store;
    beforeEach(async () => {
      store = await backend.open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('lists sent originals that still owe a follow-up, earliest sent first, and pages by (sentAt, id)', async () => {
      const later = await sentOriginal(store, T0, T0 + 3 * HOUR, '9003');
      const earlier = await sentOriginal(store, T0 + MINUTE, T0 + 2 * HOUR, '9002');
      await sentOriginal(store, T0 + 2 * MINUTE, T0 + 2 * HOUR, '9004', {}); // no follow-ups
      await sentOriginal(store, T0 + 3 * MINUTE, T0 - 2 * DAY, '9005'); // sent before the window
      const { send: pending } = await createOneShot(store, T0 + 4 * MINUTE, withFollowUps([followUp(HOUR)])); // not sent yet

      const all = await store.sends.followUpOriginals({ sentSince: T0 - DAY, dueBy: T0 + DAY, after: null, limit: 10 });
      expect(all.map((w) => w.send.id)).toEqual([earlier.id, later.id]);
      expect(all[0]!.campaign.followUps).toEqual([followUp(HOUR)]);
      expect(all.map((w) => w.send.id)).not.toContain(pending.id);

      const firstPage = await store.sends.followUpOriginals({ sentSince: T0 - DAY, dueBy: T0 + DAY, after: null, limit: 1 });
      const secondPage = await store.sends.followUpOriginals({ sentSince: T0 - DAY, dueBy: T0 + DAY, after: { sentAt: firstPage[0]!.send.sentAt!, id: firstPage[0]!.send.id }, limit: 1 });
      expect([...firstPage, ...secondPage].map((w) => w.send.id)).toEqual([earlier.id, later.id]);
    });

    it('makes a follow-up once, counts it on the original, and the follow-up is due for the sync at once', async () => {
      const original = await sentOriginal(store, T0, T0 + HOUR, '9001');
      const now = T0 + 2 * HOUR;
      const send = followUpOf(original, 0, now);
      expect(await store.sends.insertFollowUp({ originalId: original.id, made: 0, send, events: [made(original)], now })).toBe(true);
      // A retry after a crash (or a second process) finds it made.
      expect(await store.sends.insertFollowUp({ originalId: original.id, made: 0, send: followUpOf(original, 0, now + 1), events: [made(original)], now })).toBe(false);

      const stored = await store.campaigns.findSend(send.id);
      expect(stored).toMatchObject({ kind: 'follow_up', status: 'pending', parentSendId: original.id, followUpIndex: 0, syncDueAt: now, followUp: send.followUp });
      expect((await store.campaigns.findSend(original.id))!.followUpsMade).toBe(1);
      expect(await store.sends.followUpOriginals({ sentSince: T0, dueBy: T0 + DAY, after: null, limit: 10 })).toEqual([]);
      const events = await store.campaigns.events(original.campaignId, 0, 100);
      expect(events.filter((e) => e.type === 'follow_up_created')).toHaveLength(1);
      const { work } = await store.sends.claim({ connectionId: original.connectionId, owner: 'me', now, leaseMs: MINUTE, limit: 10 });
      expect(work.map((w) => w.send.id)).toEqual([send.id]);
      // The one-shot campaign still mirrors its own send.
      expect((await store.campaigns.find(original.campaignId))!.campaign.status).toBe('sent');
    });

    it('makes no follow-up once the campaign stopped its follow-ups', async () => {
      const original = await sentOriginal(store, T0, T0 + HOUR, '9001');
      await store.campaigns.mutate(original.campaignId, T0 + HOUR, () => ({ campaign: { followUpsCanceledAt: T0 + HOUR } }));
      expect(await store.sends.followUpOriginals({ sentSince: T0, dueBy: T0 + DAY, after: null, limit: 10 })).toEqual([]);
      const now = T0 + 2 * HOUR;
      expect(await store.sends.insertFollowUp({ originalId: original.id, made: 0, send: followUpOf(original, 0, now), events: [], now })).toBe(false);
      expect((await store.campaigns.listSends(original.campaignId, { limit: 10 })).map((s) => s.kind)).toEqual(['scheduled']);
    });

    it('reads only originals whose follow-up is due: the check is set on sending, moved on making, changed by edits', async () => {
      const sentAt = T0 + HOUR;
      const original = await sentOriginal(store, T0, sentAt, '9001', withFollowUps([followUp(HOUR), followUp(3 * HOUR)]));
      expect(original.followUpCheckAt).toBe(sentAt + HOUR);
      const due = (dueBy: number) => store.sends.followUpOriginals({ sentSince: T0, dueBy, after: null, limit: 10 });
      expect(await due(sentAt + HOUR - 1)).toEqual([]);
      expect((await due(sentAt + HOUR)).map((w) => w.send.id)).toEqual([original.id]);

      const now = sentAt + HOUR;
      expect(await store.sends.insertFollowUp({ originalId: original.id, made: 0, send: followUpOf(original, 0, now), events: [], now })).toBe(true);
      expect((await store.campaigns.findSend(original.id))!.followUpCheckAt).toBe(sentAt + 3 * HOUR);
      expect(await due(sentAt + 3 * HOUR - 1)).toEqual([]);

      // An edit bringing the second follow-up sooner moves the check; stopping them clears it.
      await store.campaigns.mutate(original.campaignId, now, () => ({ campaign: { followUps: [followUp(HOUR), followUp(2 * HOUR)] } }));
      expect((await store.campaigns.findSend(original.id))!.followUpCheckAt).toBe(sentAt + 2 * HOUR);
      await store.campaigns.mutate(original.campaignId, now, () => ({ campaign: { followUpsCanceledAt: now } }));
      expect((await store.campaigns.findSend(original.id))!.followUpCheckAt).toBeNull();
    });

    it('sets no check on a send whose campaign has no follow-ups, and forgets checks of originals past the look-back', async () => {
      const plain = await sentOriginal(store, T0, T0 + HOUR, '9001', {});
      expect(plain.followUpCheckAt).toBeNull();
      const old = await sentOriginal(store, T0, T0 + HOUR, '9002');
      const fresh = await sentOriginal(store, T0, T0 + 3 * HOUR, '9003');
      expect(await store.sends.forgetFollowUpChecks({ sentBefore: T0 + 2 * HOUR, dueBy: T0 + 5 * HOUR })).toBe(1);
      expect((await store.campaigns.findSend(old.id))!.followUpCheckAt).toBeNull();
      expect((await store.campaigns.findSend(fresh.id))!.followUpCheckAt).toBe(T0 + 4 * HOUR);
    });

    it('keeps followUpCount equal to the number of follow-ups whoever writes them', async () => {
      const { campaign } = await createOneShot(store, T0, withFollowUps([followUp(HOUR)]));
      const record = await store.campaigns.mutate(campaign.id, T0 + 1, () => ({ campaign: { followUps: [followUp(HOUR), followUp(2 * HOUR)] } }));
      expect(record!.campaign.followUpCount).toBe(2);
      const cleared = await store.campaigns.mutate(campaign.id, T0 + 2, () => ({ campaign: { followUps: null } }));
      expect(cleared!.campaign.followUpCount).toBe(0);
    });
  });

  describe.runIf(backend.openPeers !== undefined)('follow-ups made by two processes at once', () => {
    const peers = usePeerStores(backend);

    it('makes exactly one follow-up when both race to make it', async () => {
      const original = await sentOriginal(peers.mine, T0, T0 + HOUR, '9001');
      const now = T0 + 2 * HOUR;
      const results = await Promise.all([
        peers.mine.sends.insertFollowUp({ originalId: original.id, made: 0, send: followUpOf(original, 0, now), events: [], now }),
        peers.theirs.sends.insertFollowUp({ originalId: original.id, made: 0, send: followUpOf(original, 0, now + 1), events: [], now }),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const followUps = (await peers.mine.campaigns.listSends(original.campaignId, { limit: 10 })).filter((s) => s.kind === 'follow_up');
      expect(followUps).toHaveLength(1);
      expect((await peers.theirs.campaigns.findSend(original.id))!.followUpsMade).toBe(1);
    });
  });
}
