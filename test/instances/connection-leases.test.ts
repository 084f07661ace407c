import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createConnectionLeases } from '../../src/instances/connection-leases.ts';
import type { Store } from '../../src/store/types.ts';
import { T0 } from '../helpers/app.ts';
import { databaseBackends } from '../helpers/instances.ts';

/*
 * The lease keeper on its own, over a real store of each backend: what a refresh hands back,
 * what it takes, and what it tells the client about a takeover.
 */

const LEASE_MS = 90_000;

describe.each(databaseBackends)('the connection lease keeper on $name', (backend) => {
  let dispose: () => Promise<void>;
  const stores: Store[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await dispose();
  });

  async function keepers(...ids: string[]) {
    const database = await backend.create();
    dispose = database.dispose;
    const clock = new ManualClock(T0);
    const takeovers: Array<[string, string]> = [];
    const made = ids.map((id) => {
      const store = database.open();
      stores.push(store);
      return createConnectionLeases({ store, clock, leaseMs: LEASE_MS, instance: { id, host: 'host', pid: 1, startedAt: T0 }, onTakeover: (connectionId) => takeovers.push([id, connectionId]) });
    });
    return { clock, takeovers, keepers: made };
  }

  it('lets an instance spend a connection\'s budget outside its lanes only while it holds it or no other instance is live', async () => {
    const { clock, keepers: [a, b] } = await keepers('a', 'b');
    // Alone (no other instance has heartbeated): any connection.
    expect(await a!.maySpend('conn_1')).toBe(true);
    await a!.refresh(['conn_1', 'conn_2']);
    await b!.refresh();
    await a!.refresh();
    await b!.refresh();
    const [mine, theirs] = [a!.held(), b!.held()];
    expect(mine).toHaveLength(1);
    expect(theirs).toHaveLength(1);
    expect(await a!.maySpend(mine[0]!)).toBe(true);
    expect(await a!.maySpend(theirs[0]!)).toBe(false);
    // Once b has stopped heartbeating for a lease's length, a is alone again.
    clock.advance(LEASE_MS);
    expect(await a!.maySpend(theirs[0]!)).toBe(true);
  });

  it('never hands back a connection whose lane is running; a later refresh does once it is idle', async () => {
    const { keepers: [a, b] } = await keepers('a', 'b');
    await a!.refresh(['conn_1', 'conn_2']);
    expect(a!.held()).toEqual(['conn_1', 'conn_2']);
    await b!.refresh();
    expect(b!.held()).toEqual([]);

    // conn_2 (the one a would hand back first) is busy: conn_1 goes instead.
    await a!.whileHeld('conn_2', async () => {
      await a!.refresh();
      expect(a!.held()).toEqual(['conn_2']);
    });
    await b!.refresh();
    expect(b!.held()).toEqual(['conn_1']);
    expect(await a!.whileHeld('conn_1', async () => 'worked')).toBeNull();
  });

  it('keeps its surplus while every one of its connections is busy, and gives it up after', async () => {
    const { keepers: [a, b] } = await keepers('a', 'b');
    await a!.refresh(['conn_1', 'conn_2']);
    await b!.refresh();
    await a!.whileHeld('conn_1', () =>
      a!.whileHeld('conn_2', async () => {
        await a!.refresh();
        expect(a!.held()).toEqual(['conn_1', 'conn_2']);
      }),
    );
    await a!.refresh();
    await b!.refresh();
    expect([a!.held(), b!.held()]).toEqual([['conn_1'], ['conn_2']]);
  });

  it('reports a connection taken from another instance as a takeover, and a new or its own one not', async () => {
    const { clock, takeovers, keepers: [a, b] } = await keepers('a', 'b');
    await a!.refresh(['conn_1', 'conn_2']);
    await b!.refresh();
    await a!.refresh();
    await b!.refresh();
    expect(takeovers).toEqual([['b', 'conn_2']]);
    // a dies; b takes conn_1 once a's lease and heartbeat run out.
    clock.advance(a!.ttlMs);
    await b!.refresh();
    expect(b!.held()).toEqual(['conn_1', 'conn_2']);
    expect(takeovers).toEqual([
      ['b', 'conn_2'],
      ['b', 'conn_1'],
    ]);
  });
});
