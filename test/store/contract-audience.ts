import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';
import { HOUR, MINUTE, T0, audience, changeSend, createDraft, createOneShot, queuedRemotely, sentRemotely } from './fixtures.ts';

/** The store's part in audiences: the resolved audience a send carries, and the connections list. */
export function defineAudienceContract(backend: StoreBackend): void {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
  });

  describe('sends.recordOutcome with a resolved audience', () => {
    it('stores the fan ids on the send, reads them back whole, and keeps them through later writes', async () => {
      const { send } = await createOneShot(store, T0, { audience: audience({ userIds: [], chatFilters: ['priority', 'who_tipped'] }) });
      expect(send.resolvedAudience).toBeNull();
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      const resolvedAudience = { key: 'k1', fanIds: [3, 17, 9_007_199_254_740_991], resolvedAt: T0 + 2, pages: 2 };

      const result = await store.sends.recordOutcome(send.id, 'worker-1', T0 + 2, () => ({ changes: { resolvedAudience } }), { release: false, leaseMs: MINUTE });

      expect(result!.send.resolvedAudience).toEqual(resolvedAudience);
      expect(result!.campaign.audience.chatFilters).toEqual(['priority', 'who_tipped']);
      const later = await store.sends.recordOutcome(send.id, 'worker-1', T0 + 3, () => ({ changes: { createStartedAt: T0 + 3, createRevision: 1 } }), { release: true });
      expect(later!.send.resolvedAudience).toEqual(resolvedAudience);
      expect((await store.campaigns.findSend(send.id))!.resolvedAudience).toEqual(resolvedAudience);
    });
  });

  describe('campaigns.sendAudiences', () => {
    it("gives each send's campaign audience and its resolved fans, leaving out unknown ids", async () => {
      const plain = await createOneShot(store, T0, { audience: audience({ userIds: [5], userLists: [1] }) });
      const filtered = await createOneShot(store, T0 + 1, { audience: audience({ chatFilters: ['unread'] }) });
      await changeSend(store, filtered.send, T0 + 2, { resolvedAudience: { key: 'k', fanIds: [8, 9], resolvedAt: T0 + 2, pages: 1 } });

      const found = await store.campaigns.sendAudiences([plain.send.id, filtered.send.id, 'snd_unknown']);

      expect([...found.keys()].sort()).toEqual([plain.send.id, filtered.send.id].sort());
      expect(found.get(plain.send.id)).toEqual({ audience: plain.campaign.audience, resolvedFanIds: null });
      expect(found.get(filtered.send.id)).toEqual({ audience: filtered.campaign.audience, resolvedFanIds: [8, 9] });
      expect(await store.campaigns.sendAudiences([])).toEqual(new Map());
    });
  });

  describe('connections.list', () => {
    it('lists every connection a campaign names or that has a health row, with campaigns and queued sends counted', async () => {
      const queued = await createOneShot(store, T0, { connectionId: 'conn_a' });
      await changeSend(store, queued.send, T0 + 1, queuedRemotely('7001', T0 + 1));
      await createOneShot(store, T0 + 2, { connectionId: 'conn_a' });
      const sent = await createOneShot(store, T0 + 3, { connectionId: 'conn_a' });
      await changeSend(store, sent.send, T0 + 4, queuedRemotely('7002', T0 + 4));
      await changeSend(store, sent.send, T0 + 5, sentRemotely('7002', T0 + 5, { sentCount: 1, viewedCount: 0, purchasedCount: 0 }));
      await createDraft(store, T0 + 6, { connectionId: 'conn_b' });
      await store.connections.pause('conn_b', 'OFAuth refused the connection', T0 + HOUR);
      await store.connections.markHealthy('conn_c', T0 + 2 * HOUR);

      const all = await store.connections.list(null);

      expect(all.map((c) => [c.id, c.campaigns, c.sendsQueued])).toEqual([
        ['conn_a', 3, 2],
        ['conn_b', 1, 0],
        ['conn_c', 0, 0],
      ]);
      expect(all[0]).toMatchObject({ pausedAt: null, lastSuccessAt: null });
      expect(all[1]).toMatchObject({ pausedAt: T0 + HOUR, pauseReason: 'OFAuth refused the connection' });
      expect(all[2]).toMatchObject({ pausedAt: null, lastSuccessAt: T0 + 2 * HOUR });
    });

    it('keeps to the connections asked for: null is any, an empty list is none', async () => {
      await createOneShot(store, T0, { connectionId: 'conn_a' });
      await createOneShot(store, T0 + 1, { connectionId: 'conn_b' });
      expect((await store.connections.list(['conn_b', 'conn_z'])).map((c) => c.id)).toEqual(['conn_b']);
      expect(await store.connections.list([])).toEqual([]);
    });
  });
}
