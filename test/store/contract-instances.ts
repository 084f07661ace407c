import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_VERSION_POLL_MS, type Store } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';
import { MINUTE, T0, tokenRecord } from './fixtures.ts';
import { usePeerStores } from './peers.ts';

/*
 * The store contract for several instances on one database: the instances table, connection
 * leases, the stats poller's saved state, and the token version another instance polls.
 */

const instance = (id: string, startedAt = T0) => ({ id, host: `host-${id}`, pid: 100, startedAt });
const connectionIds = (taken: Array<{ connectionId: string }>) => taken.map((t) => t.connectionId);

export function defineInstanceContract(backend: StoreBackend): void {
  describe('instances and connection leases', () => {
    let store: Store;
    beforeEach(async () => {
      store = await backend.open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('records heartbeats and lists the instances heard from since a time, oldest start first, with their leases', async () => {
      await store.instances.heartbeat(instance('b', T0 + 1), T0);
      await store.instances.heartbeat(instance('a', T0), T0);
      await store.instances.heartbeat(instance('b', T0 + 1), T0 + MINUTE);
      await store.instances.addConnections(['conn_1', 'conn_2', 'conn_3']);
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0 + MINUTE, expiresAt: T0 + 2 * MINUTE, limit: 2 }))).toEqual(['conn_1', 'conn_2']);

      const live = await store.instances.live(T0, T0 + MINUTE);
      expect(live).toEqual([
        { id: 'a', host: 'host-a', pid: 100, startedAt: T0, heartbeatAt: T0, connectionsHeld: 0 },
        { id: 'b', host: 'host-b', pid: 100, startedAt: T0 + 1, heartbeatAt: T0 + MINUTE, connectionsHeld: 2 },
      ]);
      expect((await store.instances.live(T0 + 1, T0 + MINUTE)).map((i) => i.id)).toEqual(['b']);
      // An expired lease is not counted as held.
      expect((await store.instances.live(T0, T0 + 2 * MINUTE))[1]!.connectionsHeld).toBe(0);
    });

    it('knows each connection once however often it is added', async () => {
      expect(await store.instances.connectionCount()).toBe(0);
      await store.instances.addConnections(['conn_2', 'conn_1']);
      await store.instances.addConnections(['conn_1', 'conn_3']);
      await store.instances.addConnections([]);
      expect(await store.instances.connectionCount()).toBe(3);
    });

    it('leases free connections lowest first, never one a live owner holds, and takes over an expired one', async () => {
      await store.instances.addConnections(['conn_3', 'conn_1', 'conn_2']);
      expect(connectionIds(await store.instances.acquire({ owner: 'a', now: T0, expiresAt: T0 + MINUTE, limit: 2 }))).toEqual(['conn_1', 'conn_2']);
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0 + 1, expiresAt: T0 + MINUTE, limit: 5 }))).toEqual(['conn_3']);
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0 + 2, expiresAt: T0 + MINUTE, limit: 5 }))).toEqual([]);
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0, expiresAt: T0 + MINUTE, limit: 0 }))).toEqual([]);
      // a's leases run out at T0 + MINUTE: b takes them.
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0 + MINUTE, expiresAt: T0 + 2 * MINUTE, limit: 5 }))).toEqual(['conn_1', 'conn_2', 'conn_3']);
      expect(await store.instances.renew('a', T0 + 3 * MINUTE)).toEqual([]);
    });

    it('renews only its own leases, and releases only its own', async () => {
      await store.instances.addConnections(['conn_1', 'conn_2', 'conn_3']);
      await store.instances.acquire({ owner: 'a', now: T0, expiresAt: T0 + MINUTE, limit: 2 });
      await store.instances.acquire({ owner: 'b', now: T0, expiresAt: T0 + MINUTE, limit: 1 });
      expect(await store.instances.renew('a', T0 + 5 * MINUTE)).toEqual(['conn_1', 'conn_2']);
      // Renewed: still a's after the first expiry.
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0 + 2 * MINUTE, expiresAt: T0 + 3 * MINUTE, limit: 5 }))).toEqual(['conn_3']);

      await store.instances.release('b', ['conn_1']);
      await store.instances.release('a', ['conn_2']);
      await store.instances.release('a', []);
      expect(await store.instances.renew('a', T0 + 5 * MINUTE)).toEqual(['conn_1']);
      expect(connectionIds(await store.instances.acquire({ owner: 'c', now: T0 + 2 * MINUTE, expiresAt: T0 + 3 * MINUTE, limit: 5 }))).toEqual(['conn_2']);
      await store.instances.release('c');
      expect(await store.instances.renew('c', T0 + 5 * MINUTE)).toEqual([]);
    });

    it('tells who last held each connection it leases', async () => {
      await store.instances.addConnections(['conn_1', 'conn_2', 'conn_3']);
      expect(await store.instances.acquire({ owner: 'a', now: T0, expiresAt: T0 + MINUTE, limit: 2 })).toEqual([
        { connectionId: 'conn_1', previousOwner: null },
        { connectionId: 'conn_2', previousOwner: null },
      ]);
      await store.instances.release('a', ['conn_2']);
      expect(await store.instances.acquire({ owner: 'b', now: T0 + 1, expiresAt: T0 + MINUTE, limit: 5 })).toEqual([
        { connectionId: 'conn_2', previousOwner: 'a' },
        { connectionId: 'conn_3', previousOwner: null },
      ]);
      // Expired, not released: taken over from its last owner.
      expect(await store.instances.acquire({ owner: 'c', now: T0 + MINUTE, expiresAt: T0 + 2 * MINUTE, limit: 1 })).toEqual([{ connectionId: 'conn_1', previousOwner: 'a' }]);
    });

    it('frees an instance\'s leases and forgets it when it is removed, and prunes instances silent for long', async () => {
      await store.instances.heartbeat(instance('a'), T0);
      await store.instances.heartbeat(instance('b'), T0 + 10 * MINUTE);
      await store.instances.addConnections(['conn_1']);
      await store.instances.acquire({ owner: 'a', now: T0, expiresAt: T0 + MINUTE, limit: 1 });
      await store.instances.remove('a');
      expect((await store.instances.live(0, T0)).map((i) => i.id)).toEqual(['b']);
      expect(connectionIds(await store.instances.acquire({ owner: 'b', now: T0 + 1, expiresAt: T0 + MINUTE, limit: 1 }))).toEqual(['conn_1']);

      await store.instances.heartbeat(instance('c'), T0);
      expect(await store.instances.prune(T0 + 1)).toBe(1);
      expect((await store.instances.live(0, T0)).map((i) => i.id)).toEqual(['b']);
    });
  });

  describe('stats poll state', () => {
    let store: Store;
    beforeEach(async () => {
      store = await backend.open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('keeps the poller\'s resume point and budget per connection, replaced on each save', async () => {
      expect(await store.stats.pollState('conn_1')).toBeNull();
      const carry = { type: 'unsent', offset: 40, fromTop: true, lowestKey: 'Infinity', seenIds: ['snd_1', 'snd_2'], coverage: { scheduled: { fromTop: true, below: '-Infinity' } } };
      await store.stats.savePollState('conn_1', { carry, budgetTokens: 1.5, budgetUpdatedAt: T0 });
      await store.stats.savePollState('conn_2', { carry: null, budgetTokens: 3, budgetUpdatedAt: T0 + 1 });
      expect(await store.stats.pollState('conn_1')).toEqual({ carry, budgetTokens: 1.5, budgetUpdatedAt: T0 });

      await store.stats.savePollState('conn_1', { carry: null, budgetTokens: 0.25, budgetUpdatedAt: T0 + MINUTE });
      expect(await store.stats.pollState('conn_1')).toEqual({ carry: null, budgetTokens: 0.25, budgetUpdatedAt: T0 + MINUTE });
      expect(await store.stats.pollState('conn_2')).toEqual({ carry: null, budgetTokens: 3, budgetUpdatedAt: T0 + 1 });
    });
  });

  describe.runIf(backend.openPeers !== undefined)('instances across processes', () => {
    const peers = usePeerStores(backend);

    it('never leases one connection to two instances claiming at once', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => `conn_${String(i).padStart(2, '0')}`);
      await Promise.all([peers.mine.instances.addConnections(ids), peers.theirs.instances.addConnections([...ids].reverse())]);
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? peers.mine : peers.theirs).instances.acquire({ owner: `owner-${i}`, now: T0, expiresAt: T0 + MINUTE, limit: 10 })),
      );
      const taken = claims.flatMap(connectionIds);
      expect(new Set(taken).size).toBe(taken.length);
      expect(taken.sort()).toEqual(ids);
    });

    it('shows another process\'s revocation to version(now) within TOKEN_VERSION_POLL_MS', async () => {
      await peers.theirs.tokens.insert(tokenRecord('tok_1'));
      const before = await peers.mine.tokens.version(T0);
      await peers.theirs.tokens.revoke('tok_1', T0);
      expect(await peers.mine.tokens.version(T0 + TOKEN_VERSION_POLL_MS)).not.toBe(before);
    });
  });
}
