import { afterEach, describe, expect, test } from 'vitest';
import { isOfauthError, type OfauthError } from '../../src/ofauth/errors.ts';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { clientFor, manualTime } from './support.ts';

const started: Array<StartedSimulator | OfauthClient> = [];
afterEach(async () => {
  for (const item of started.splice(0).reverse()) await item.close();
});

async function setup(simOptions: Parameters<typeof startSimulator>[0], clientOptions: Parameters<typeof clientFor>[1] = {}) {
  const sim = await startSimulator(simOptions);
  started.push(sim);
  const client = clientFor(sim, clientOptions);
  started.push(client);
  return { sim, client };
}

const count429 = (sim: StartedSimulator) =>
  Object.entries(sim.requestCounts())
    .filter(([key]) => key.endsWith(' 429'))
    .reduce((sum, [, n]) => sum + n, 0);

describe('client token bucket against the simulator', () => {
  test('a burst of 200 calls on one connection earns no 429 and takes within 10% of the least time the bucket allows', async () => {
    // Real time by necessity: the simulator's bucket runs on the system clock. Scaled down
    // (20 tokens, 100/s) so the least possible time is (200 - 20) / 100 = 1.8 s; faster refills
    // make a few ms of scheduling noise (the test shares its CPU) a large share of a token.
    const bucket = { capacity: 20, refillPerSecond: 100 };
    const { sim, client } = await setup(
      { rateLimit: bucket, connections: [{ id: 'conn_burst', lists: [{ id: 1, name: 'All', size: 10 }] }, { id: 'conn_warm' }] },
      { rateLimit: bucket },
    );
    // Warm the JIT and open as many keep-alive sockets as the burst's first wave needs, on
    // another connection: the server's bucket starts when the first burst request arrives, so a
    // first wave slowed by TCP setup would leave it behind ours (at 100/s, 10 ms is a token).
    await Promise.all(Array.from({ length: bucket.capacity }, () => client.listUserLists('conn_warm')));

    const least = ((200 - bucket.capacity) / bucket.refillPerSecond) * 1000;
    const started = performance.now();
    await Promise.all(Array.from({ length: 200 }, () => client.listUserLists('conn_burst')));
    const elapsed = performance.now() - started;

    expect(count429(sim)).toBe(0);
    expect(sim.requestCounts()['GET /v2/access/users/lists 200']).toBe(200 + bucket.capacity);
    console.log(`burst: ${elapsed.toFixed(0)} ms for a least of ${least} ms`);
    expect(elapsed).toBeGreaterThanOrEqual(least * 0.99);
    expect(elapsed).toBeLessThanOrEqual(least * 1.1);
  });

  test('waits for the bucket instead of calling: exact waits with a manual clock, and no 429', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, rateLimit: { capacity: 5, refillPerSecond: 1 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: { capacity: 5, refillPerSecond: 1, headroom: 0 } },
    );
    for (let i = 0; i < 8; i += 1) await client.listUserLists(sim.connectionId);
    expect(t.sleeps).toEqual([1000, 1000, 1000]);
    expect(count429(sim)).toBe(0);
  });

  test('two connections do not share a bucket', async () => {
    const t = manualTime();
    const { client } = await setup(
      { clock: t.clock, connections: [{ id: 'conn_a' }, { id: 'conn_b' }], rateLimit: { capacity: 3, refillPerSecond: 1 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: { capacity: 3, refillPerSecond: 1, headroom: 0 } },
    );
    for (let i = 0; i < 3; i += 1) await client.listUserLists('conn_a');
    expect(client.availableTokens('conn_a')).toBe(0);
    expect(client.availableTokens('conn_b')).toBe(3);
    for (let i = 0; i < 3; i += 1) await client.listUserLists('conn_b');
    expect(t.sleeps).toEqual([]);
    await client.listUserLists('conn_a');
    expect(t.sleeps).toEqual([1000]);
  });

  test('headroom keeps one token in reserve by default', async () => {
    const t = manualTime();
    const { client, sim } = await setup({ clock: t.clock }, { clock: t.clock, sleep: t.sleep, rateLimit: { capacity: 90, refillPerSecond: 1 } });
    expect(client.availableTokens(sim.connectionId)).toBe(89);
  });

  test('slows down to X-RateLimit-Remaining when someone else spends on the connection', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, rateLimit: { capacity: 10, refillPerSecond: 1 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: { capacity: 10, refillPerSecond: 1, headroom: 0 } },
    );
    const other = clientFor(sim, { clock: t.clock, sleep: t.sleep });
    started.push(other);
    for (let i = 0; i < 7; i += 1) await other.listUserLists(sim.connectionId);
    await client.listUserLists(sim.connectionId);
    // Server: 10 - 7 - 1 = 2 left; our own bucket believed 9.
    expect(client.availableTokens(sim.connectionId)).toBe(2);
  });

  test('adopts a smaller X-RateLimit-Limit', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, rateLimit: { capacity: 5, refillPerSecond: 1 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: { capacity: 90, refillPerSecond: 1, headroom: 1 } },
    );
    await client.listUserLists(sim.connectionId);
    expect(client.availableTokens(sim.connectionId)).toBeLessThanOrEqual(4);
  });
});

describe('429 handling', () => {
  // The client's own bucket is made large so that the simulator's answers drive the waits; it
  // still obeys "Remaining: 0" and the 429, which costs a few sub-second waits filtered out here.
  const looseBucket = { capacity: 1000, refillPerSecond: 1000 };
  const hintedWaits = (sleeps: number[]) => sleeps.filter((ms) => ms >= 100);

  test('honours Retry-After', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, retryAfter: true, rateLimit: { capacity: 2, refillPerSecond: 0.5 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: looseBucket },
    );
    for (let i = 0; i < 3; i += 1) await client.listUserLists(sim.connectionId);
    expect(hintedWaits(t.sleeps)).toEqual([2000]);
    expect(count429(sim)).toBe(1);
  });

  test('derives the wait for one token from X-RateLimit-Reset in seconds', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, rateLimit: { capacity: 4, refillPerSecond: 0.5 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: looseBucket },
    );
    for (let i = 0; i < 5; i += 1) await client.listUserLists(sim.connectionId);
    // Reset says full in 8 s with 4 tokens missing: one token in 2 s.
    expect(hintedWaits(t.sleeps)).toEqual([2000]);
    expect(count429(sim)).toBe(1);
  });

  test('derives the wait from X-RateLimit-Reset as epoch seconds', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, rateLimitReset: 'epoch', rateLimit: { capacity: 4, refillPerSecond: 0.25 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: looseBucket },
    );
    for (let i = 0; i < 5; i += 1) await client.listUserLists(sim.connectionId);
    // Epoch seconds are coarse: the 1 ms spent above rounds the reset up by up to a second.
    const [wait, ...rest] = hintedWaits(t.sleeps);
    expect(rest).toEqual([]);
    expect(wait).toBeGreaterThanOrEqual(4000);
    expect(wait).toBeLessThanOrEqual(4250);
    expect(count429(sim)).toBe(1);
  });

  test('a 429 storm is retried with bounded attempts and never in a tight loop', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, faults: { seed: 3, rateLimitStorm: 1 } },
      { clock: t.clock, sleep: t.sleep, retry: { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5000, maxTotalMs: 60_000 } },
    );
    const error = (await client.createMassMessage(sim.connectionId, { text: 'x', userIds: [1] }).catch((e: unknown) => e)) as OfauthError;
    expect(isOfauthError(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'retryable', status: 429, code: 'RATE_LIMIT_EXCEEDED', attempts: 4 });
    // Each retry waits the hinted time, then for our own emptied bucket: never a tight loop.
    for (const ms of t.sleeps) expect(ms).toBeGreaterThanOrEqual(100);
    expect(t.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3000);
    expect(sim.requestCounts()['POST /v2/access/messages/queue 429']).toBe(4);
    expect(sim.messages()).toHaveLength(0);
  });

  test('gives up early when the indicated wait would exceed the total retry budget', async () => {
    const t = manualTime();
    const { sim, client } = await setup(
      { clock: t.clock, retryAfter: true, rateLimit: { capacity: 1, refillPerSecond: 0.01 } },
      { clock: t.clock, sleep: t.sleep, rateLimit: looseBucket, retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 30_000 } },
    );
    await client.listUserLists(sim.connectionId);
    await expect(client.listUserLists(sim.connectionId)).rejects.toMatchObject({ kind: 'retryable', status: 429, retryAfterMs: 100_000, attempts: 1 });
    expect(t.sleeps).toEqual([]);
  });
});
