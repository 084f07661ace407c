import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { RateLimiter } from '../../src/ofauth/rate-limiter.ts';
import { computeBackoffMs, defaultRetryPolicy, computeHintedWaitMs, readRateLimitHints } from '../../src/ofauth/retry.ts';
import { mulberry32 } from '../../src/ofauth/simulator/faults.ts';

describe('backoff', () => {
  test('full jitter stays within [100 ms, min(max, base·2^(n-1))]', () => {
    const random = mulberry32(11);
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const ceiling = Math.min(defaultRetryPolicy.maxDelayMs, defaultRetryPolicy.baseDelayMs * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i += 1) {
        const ms = computeBackoffMs(attempt, defaultRetryPolicy, random);
        expect(ms).toBeGreaterThanOrEqual(100);
        expect(ms).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(computeBackoffMs(3, defaultRetryPolicy, () => 0.5)).toBe(1000);
  });
});

describe('rate-limit headers', () => {
  const now = Date.UTC(2030, 0, 1);

  test('X-RateLimit-Reset as seconds-to-reset, epoch seconds or epoch ms', () => {
    expect(readRateLimitHints({ 'x-ratelimit-reset': '30' }, now).resetInMs).toBe(30_000);
    expect(readRateLimitHints({ 'x-ratelimit-reset': String(now / 1000 + 30) }, now).resetInMs).toBe(30_000);
    expect(readRateLimitHints({ 'x-ratelimit-reset': String(now + 30_000) }, now).resetInMs).toBe(30_000);
    expect(readRateLimitHints({ 'x-ratelimit-reset': String(now / 1000 - 5) }, now).resetInMs).toBe(0);
    expect(readRateLimitHints({ 'x-ratelimit-reset': 'soon' }, now).resetInMs).toBeNull();
  });

  test('Retry-After as seconds or an HTTP date; it wins over the reset', () => {
    expect(readRateLimitHints({ 'retry-after': '3' }, now).retryAfterMs).toBe(3000);
    expect(readRateLimitHints({ 'retry-after': new Date(now + 7000).toUTCString() }, now).retryAfterMs).toBe(7000);
    expect(computeHintedWaitMs({ limit: 90, remaining: 0, resetInMs: 90_000, retryAfterMs: 4000 })).toBe(4000);
  });

  test('without Retry-After, one token takes Reset / (Limit − Remaining); never below 100 ms', () => {
    expect(computeHintedWaitMs({ limit: 90, remaining: 0, resetInMs: 90_000, retryAfterMs: null })).toBe(1000);
    expect(computeHintedWaitMs({ limit: null, remaining: null, resetInMs: 5000, retryAfterMs: null })).toBe(5000);
    expect(computeHintedWaitMs({ limit: 90, remaining: 0, resetInMs: 0, retryAfterMs: null })).toBe(100);
    expect(computeHintedWaitMs({ limit: 90, remaining: 0, resetInMs: null, retryAfterMs: null })).toBeNull();
  });
});

describe('RateLimiter', () => {
  function limiter(capacity: number, refillPerSecond: number) {
    const clock = new ManualClock();
    const sleeps: number[] = [];
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      clock.advance(ms);
    };
    return { clock, sleeps, limiter: new RateLimiter({ capacity, refillPerSecond, headroom: 0 }, clock, sleep) };
  }

  test('a 429 block holds the connection and shifts the whole schedule, keeping its spacing', async () => {
    const { limiter: l, sleeps } = limiter(2, 1);
    await l.acquire('c');
    await l.acquire('c');
    l.confirm('c');
    l.block('c', 5000);
    expect(l.available('c')).toBe(0);
    await l.acquire('c');
    await l.acquire('c');
    // 5 s for the block plus one token, then one more token a second later.
    expect(sleeps).toEqual([6000, 1000]);
  });

  test('a burst from a full bucket does not count refill before the first answer (anchoring)', async () => {
    const { limiter: l, clock } = limiter(1, 1);
    await l.acquire('c'); // the burst's first request leaves at t=0
    let secondLeftAt: number | null = null;
    const second = l.acquire('c').then(() => (secondLeftAt = clock.now()));
    await Promise.resolve();
    expect(secondLeftAt).toBeNull(); // waits for the answer, not only for 1 s of refill
    clock.advance(400); // the first answer arrives 400 ms later: the server's refill starts then
    l.confirm('c');
    await second;
    expect(secondLeftAt).toBe(Date.UTC(2030, 0, 1) + 1400);
  });

  test('once the burst\'s first request has left, refill counts from that moment, not from its answer', async () => {
    const { limiter: l, clock } = limiter(1, 1);
    await l.acquire('c');
    let secondLeftAt: number | null = null;
    const second = l.acquire('c').then(() => (secondLeftAt = clock.now()));
    await Promise.resolve();
    expect(secondLeftAt).toBeNull();
    clock.advance(30); // queued here and connecting: OFAuth has not seen it yet
    l.sent('c');
    clock.advance(370);
    l.confirm('c'); // the answer, 370 ms later, moves nothing more
    await second;
    expect(secondLeftAt).toBe(Date.UTC(2030, 0, 1) + 1030);
  });

  test('refill a full bucket could not hold is not taken back when the burst anchors', async () => {
    const { limiter: l, clock } = limiter(3, 1);
    await l.acquire('c'); // 2 left; a second of refill fills it again, the next two are lost
    clock.advance(3000);
    l.sent('c');
    expect(l.available('c')).toBe(2); // the one token credited is taken back, not three
  });

  test('an aborted wait gives its token back', async () => {
    const clock = new ManualClock();
    const never = (_ms: number, signal?: AbortSignal) => new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
    const l = new RateLimiter({ capacity: 1, refillPerSecond: 1, headroom: 0 }, clock, never);
    await l.acquire('c');
    l.confirm('c');
    const controller = new AbortController();
    const waiting = l.acquire('c', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toThrow();
    clock.advance(1000);
    expect(l.available('c')).toBe(1);
  });
});
