import { describe, expect, it } from 'vitest';
import { IdempotencyMismatchError } from '../../src/errors.ts';
import { SYNC_ACTOR, type EventSpec } from '../../src/events/types.ts';
import type { Store, StoredResponse } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';
import { DAY, MINUTE, T0, campaignAt, changeSend, createOneShot, createSeries, createdEvent, queuedRemotely, respondWith, statsItem } from './fixtures.ts';
import { usePeerStores } from './peers.ts';

/*
 * The store contract under concurrency: two stores on one database (as two instances hold it)
 * racing on the same rows. On SQLite the file's write lock serialises them; on PostgreSQL the
 * row locks, SKIP LOCKED claims and the idempotency key's unique index must give the same
 * outcomes, never an error (a deadlock, a unique violation) and never a double claim.
 */
export function defineRaceContract(backend: StoreBackend): void {
  describe.runIf(backend.openPeers !== undefined)('races between processes', () => {
    const peers = usePeerStores(backend);

    const createKeyed = (store: Store, at: number, requestHash: string): Promise<StoredResponse> => {
      const campaign = campaignAt(at);
      return store.campaigns.create({
        now: T0,
        idempotency: { tokenId: 'tok_1', key: 'key-1', requestHash },
        build: () => ({ campaign, sends: [], events: [createdEvent(campaign)] }),
        respond: respondWith,
      });
    };

    it('answers two creates racing with one Idempotency-Key and body with one campaign and one response', async () => {
      const [first, second] = await Promise.all([createKeyed(peers.mine, T0, 'hash-a'), createKeyed(peers.theirs, T0 + 1, 'hash-a')]);
      expect(second).toEqual(first);
      expect((await peers.mine.campaigns.list({ connectionIds: null, limit: 10 })).map((r) => r.campaign.id)).toEqual([(first.body as { id: string }).id]);
    });

    it('refuses the loser of a race with one key and two bodies, creating one campaign', async () => {
      const results = await Promise.allSettled([createKeyed(peers.mine, T0, 'hash-a'), createKeyed(peers.theirs, T0 + 1, 'hash-b')]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.any(IdempotencyMismatchError) });
      expect(await peers.mine.campaigns.list({ connectionIds: null, limit: 10 })).toHaveLength(1);
    });

    it('hands each due send to exactly one of many claims racing from both processes', async () => {
      const due = await Promise.all(Array.from({ length: 12 }, (_, i) => createOneShot(peers.mine, T0 + i)));
      const claims = await Promise.all(
        ['a1', 'b1', 'a2', 'b2', 'a3', 'b3'].map((owner) =>
          (owner.startsWith('a') ? peers.mine : peers.theirs).sends.claim({ connectionId: 'conn_a', owner, now: T0 + 2 * DAY, leaseMs: MINUTE, limit: 3 }).then((r) => ({ owner, ...r })),
        ),
      );
      const claimed = claims.flatMap((c) => c.work.map((w) => [w.send.id, c.owner] as const));
      expect(claimed.map(([id]) => id).sort()).toEqual(due.map((d) => d.send.id).sort());
      for (const [id, owner] of claimed) expect((await peers.mine.campaigns.findSend(id))?.leaseOwner).toBe(owner);
    });

    it('applies a mutation, a sync outcome and a stats page racing on one series, each exactly once', async () => {
      for (let round = 0; round < 5; round++) {
        const at = T0 + round * MINUTE;
        const { campaign, sends } = await createSeries(peers.mine, at, { nextOccurrenceAt: at + 3 * DAY, occurrences: [at + DAY, at + 2 * DAY] });
        const [first, second] = sends as [(typeof sends)[0], (typeof sends)[0]];
        const remoteId = String(8000 + round);
        await changeSend(peers.mine, second, at + 1, queuedRemotely(remoteId, at + 1));
        const { work } = await peers.mine.sends.claim({ connectionId: 'conn_a', owner: 'sync-1', now: at + 2, leaseMs: MINUTE, limit: 10, onlySendId: first.id });
        expect(work).toHaveLength(1);

        const created: EventSpec = { type: 'remote_created', actor: SYNC_ACTOR, sendId: first.id } as EventSpec;
        const [mutated, outcome, page] = await Promise.all([
          peers.theirs.campaigns.mutate(campaign.id, at + 3, () => ({ campaign: { name: `renamed ${round}` }, events: [{ type: 'updated', actor: 'alice' } as EventSpec] })),
          peers.mine.sends.recordOutcome(first.id, 'sync-1', at + 3, () => ({ changes: queuedRemotely(String(9000 + round), at + 3), events: [created] })),
          peers.theirs.stats.applyPage({
            connectionId: 'conn_a',
            type: 'scheduled',
            items: [statsItem(Number(remoteId))],
            now: at + 3,
            isTracked: () => true,
            observe: () => ({ changes: { remoteSeenAt: at + 3 }, events: [], snapshot: null, isChange: true }),
          }),
        ]);

        expect(mutated?.campaign.name).toBe(`renamed ${round}`);
        expect(outcome?.send).toMatchObject({ status: 'queued', remoteId: String(9000 + round), leaseOwner: null });
        expect(page).toMatchObject({ seen: [second.id], changed: 1 });
        const record = await peers.mine.campaigns.find(campaign.id);
        expect(record?.campaign.name).toBe(`renamed ${round}`);
        expect(record?.series?.sendCounts).toMatchObject({ queued: 2 });
        expect(await peers.mine.campaigns.findSend(second.id)).toMatchObject({ remoteSeenAt: at + 3 });
        expect((await peers.mine.campaigns.events(campaign.id, 0, 50)).map((e) => e.type).sort()).toEqual(['created', 'remote_created', 'updated']);
      }
    });
  });
}
