import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

/*
 * The simulator's follow-up surface through Fanout's own client over loopback HTTP: buyers that
 * accumulate in a seeded order and page by marker, user lists created and filled, the writes'
 * after-commit faults, and the /__sim views a test checks them with.
 */

const HOUR = 3_600_000;
const FANS = Array.from({ length: 300 }, (_, i) => 7_000 + i);

let sim: StartedSimulator;
let client: OfauthClient;
afterEach(async () => {
  await client.close();
  await sim.close();
});

async function start(options: SimulatorOptions = {}) {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  sim = await startSimulator({ clock, rateLimit: false, ...options });
  client = fastClientFor(sim);
  return clock;
}

async function readAllBuyers(messageId: number): Promise<number[]> {
  const all: number[] = [];
  let marker: string | null = null;
  for (let page = 0; page < 100; page++) {
    const result = await client.listMassMessageBuyers(sim.connectionId, messageId, { marker });
    all.push(...result.buyerIds);
    if (!result.hasMore) return all;
    expect(result.nextMarker).not.toBeNull();
    marker = result.nextMarker;
  }
  throw new Error('buyers never ended');
}

describe('simulator: buyers, user lists', () => {
  it('buyers accumulate as the purchase count grows, page by marker, and repeat for the same seed', async () => {
    const clock = await start();
    const { id } = await client.createMassMessage(sim.connectionId, { text: 'PPV', price: 9.99, userIds: FANS });
    clock.advance(10 * 60_000);
    const early = await readAllBuyers(id);
    clock.advance(2 * HOUR);
    const later = await readAllBuyers(id);
    expect(later.length).toBe(sim.messages()[0]!.purchasedCount);
    expect(later.length).toBeGreaterThan(early.length);
    expect(later.slice(0, early.length)).toEqual(early); // oldest purchase first: buyers only accumulate
    expect(later.every((fan) => FANS.includes(fan))).toBe(true);
    expect(sim.audienceOf(id)).toEqual({ recipients: FANS, buyers: later });

    await sim.close();
    await client.close();
    const again = await start();
    const second = await client.createMassMessage(sim.connectionId, { text: 'PPV', price: 9.99, userIds: FANS });
    again.advance(10 * 60_000 + 2 * HOUR);
    expect(await readAllBuyers(second.id)).toEqual(later);
  });

  it('a free message has no buyers; an unknown one is a 404', async () => {
    const clock = await start();
    const { id } = await client.createMassMessage(sim.connectionId, { text: 'free', userIds: FANS });
    clock.advance(2 * HOUR);
    expect(await readAllBuyers(id)).toEqual([]);
    await expect(client.listMassMessageBuyers(sim.connectionId, 42, {})).rejects.toMatchObject({ status: 404 });
  });

  it('creates lists, adds users idempotently, and a message excluding the list does not reach them', async () => {
    await start();
    const list = await client.createUserList(sim.connectionId, 'fanout-buyers-x');
    expect(await client.addUserToList(sim.connectionId, list.id, 101)).toEqual({ hasUser: true });
    expect(await client.addUserToList(sim.connectionId, list.id, 101)).toEqual({ hasUser: true });
    await client.addUserToList(sim.connectionId, list.id, 102);
    expect(sim.lists(sim.connectionId).find((l) => l.id === list.id)).toEqual({ id: list.id, name: 'fanout-buyers-x', size: 2, members: [101, 102] });
    const found = await client.listUserLists(sim.connectionId, { query: 'fanout-buyers-x' });
    expect(found.list.map((l) => l.id)).toEqual([list.id]);
    // List 3 (VIP) is 101…105.
    const { id } = await client.createMassMessage(sim.connectionId, { text: 'hi', userLists: [3], excludeUserLists: [Number(list.id)] });
    expect(sim.audienceOf(id)!.recipients).toEqual([103, 104, 105]);
    await expect(client.addUserToList(sim.connectionId, 1, 5)).rejects.toMatchObject({ status: 400 }); // a synthetic list
  });

  it.each([
    ['dropped', { dropAfterCommit: 1 }],
    ['answered 500', { serverErrorAfterCommit: 1 }],
  ])('a list create %s after committing is ambiguous to the client, and the list exists', async (_label, faults) => {
    await start({ faults });
    await expect(client.createUserList(sim.connectionId, 'fanout-buyers-y')).rejects.toMatchObject({ kind: 'ambiguous' });
    expect(sim.lists(sim.connectionId).filter((l) => l.name === 'fanout-buyers-y')).toHaveLength(1);
  });

  it('an add answered 500 after committing is replayed (idempotent) and the user is in once', async () => {
    await start();
    const list = await client.createUserList(sim.connectionId, 'fanout-buyers-z');
    sim.setFaults({ serverErrorAfterCommit: 1 });
    const retrying = fastClientFor(sim, { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2, maxTotalMs: 1_000 } });
    await expect(retrying.addUserToList(sim.connectionId, list.id, 9)).rejects.toMatchObject({ kind: 'retryable', attempts: 2 });
    await retrying.close();
    expect(sim.lists(sim.connectionId).find((l) => l.id === list.id)!.members).toEqual([9]);
  });

  it('shows audiences and lists under /__sim', async () => {
    await start();
    const { id } = await client.createMassMessage(sim.connectionId, { text: 'hi', userIds: [5, 6] });
    const audience = await request(`${sim.url}/__sim/messages/${id}/audience`);
    expect(await audience.body.json()).toEqual({ recipients: [5, 6], buyers: [] });
    const lists = await request(`${sim.url}/__sim/lists?connectionId=${sim.connectionId}`);
    expect(((await lists.body.json()) as { lists: Array<{ id: number }> }).lists.map((l) => l.id)).toEqual([1, 2, 3, 4]);
    expect((await request(`${sim.url}/__sim/messages/999/audience`)).statusCode).toBe(404);
  });
});
