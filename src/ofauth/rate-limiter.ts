import type { Clock } from '../clock.ts';
import type { RateLimitHints } from './retry.ts';

export interface RateLimitOptions {
  /** Burst size. OFAuth's Access API plans: 90. */
  capacity: number;
  /** Continuous refill. OFAuth's Access API plans: 60/min = 1/s. */
  refillPerSecond: number;
  /**
   * Tokens never spent locally, so latency jitter between our clock and OFAuth's (a request
   * reaching OFAuth a little earlier than its slot) does not cost a 429. Default 1.
   */
  headroom?: number;
}

export const defaultRateLimit: Readonly<Required<RateLimitOptions>> = Object.freeze({
  capacity: 90,
  refillPerSecond: 1,
  headroom: 1,
});

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

interface Bucket {
  capacity: number;
  tokens: number;
  updatedAt: number;
  /** Set after a 429: nobody on this connection sends before then. */
  blockedUntil: number;
}

/**
 * Per-connection token bucket shaped like OFAuth's, so the client waits instead of earning
 * 429s. Callers reserve a token up front (the balance may go negative) and sleep until their
 * slot: concurrent callers then leave in order at exactly the refill rate, with no polling.
 */
export class RateLimiter {
  readonly #options: Required<RateLimitOptions>;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions, clock: Clock, sleep: Sleep) {
    if (!(options.capacity >= 1) || !(options.refillPerSecond > 0)) {
      throw new Error('rateLimit needs capacity >= 1 and refillPerSecond > 0');
    }
    this.#options = { ...defaultRateLimit, ...options };
    this.#clock = clock;
    this.#sleep = sleep;
  }

  /** Waits until this connection may send one request. Rejects (refunding the token) on abort. */
  async acquire(connectionId: string, signal?: AbortSignal): Promise<void> {
    const bucket = this.#refill(connectionId);
    bucket.tokens -= 1;
    const debtMs = bucket.tokens < 0 ? (-bucket.tokens / this.#options.refillPerSecond) * 1000 : 0;
    let readyAt = Math.max(this.#clock.now() + debtMs, bucket.blockedUntil);
    try {
      for (let now = this.#clock.now(); readyAt > now; now = this.#clock.now()) {
        await this.#sleep(readyAt - now, signal);
        // A 429 seen by another caller while we slept pushes everyone back.
        readyAt = Math.max(readyAt, bucket.blockedUntil);
      }
    } catch (error) {
      bucket.tokens += 1;
      throw error;
    }
  }

  /** Tokens this connection could spend now without waiting. */
  available(connectionId: string): number {
    const bucket = this.#refill(connectionId);
    if (bucket.blockedUntil > this.#clock.now()) return 0;
    return Math.max(0, Math.floor(bucket.tokens));
  }

  /**
   * Slows down to what the server reports: a smaller Limit lowers our capacity; a Remaining
   * clearly below our balance (someone else spends on this connection) lowers the balance. Our
   * balance is normally below the server's, since we debit before the request leaves, so this
   * does not fight the local bucket in the common case.
   */
  observe(connectionId: string, hints: RateLimitHints): void {
    const bucket = this.#refill(connectionId);
    if (hints.limit !== null && hints.limit >= 1 && hints.limit < bucket.capacity) {
      bucket.capacity = hints.limit;
      bucket.tokens = Math.min(bucket.tokens, this.#effectiveCapacity(bucket));
    }
    if (hints.remaining !== null && hints.remaining >= 0 && bucket.tokens > hints.remaining + 1) {
      bucket.tokens = hints.remaining;
    }
  }

  /** After a 429: empty the bucket and hold every caller on the connection for `waitMs`. */
  block(connectionId: string, waitMs: number): void {
    const bucket = this.#refill(connectionId);
    bucket.tokens = Math.min(bucket.tokens, 0);
    bucket.blockedUntil = Math.max(bucket.blockedUntil, this.#clock.now() + waitMs);
  }

  #effectiveCapacity(bucket: Bucket): number {
    return Math.max(1, bucket.capacity - this.#options.headroom);
  }

  #refill(connectionId: string): Bucket {
    const now = this.#clock.now();
    let bucket = this.#buckets.get(connectionId);
    if (bucket === undefined) {
      bucket = { capacity: this.#options.capacity, tokens: 0, updatedAt: now, blockedUntil: 0 };
      bucket.tokens = this.#effectiveCapacity(bucket);
      this.#buckets.set(connectionId, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(
      this.#effectiveCapacity(bucket),
      bucket.tokens + (elapsed / 1000) * this.#options.refillPerSecond,
    );
    bucket.updatedAt = now;
    return bucket;
  }
}
