import type { Clock } from '../../clock.ts';

export interface SimRateLimitOptions {
  capacity: number;
  refillPerSecond: number;
}

export interface TakeResult {
  allowed: boolean;
  headers: Record<string, string>;
  /** Seconds until one token is back (the Retry-After value), when refused. */
  retryAfterSeconds: number;
}

/**
 * OFAuth's limiter as documented: a token bucket per connection with continuous refill, one
 * token per request, 429 while empty. X-RateLimit-Reset is "when full capacity returns", sent as
 * seconds-to-reset or as epoch seconds (the unit is undocumented, so both are servable).
 */
export class SimRateLimiter {
  readonly #options: SimRateLimitOptions;
  readonly #clock: Clock;
  readonly #resetFormat: 'seconds' | 'epoch';
  readonly #buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(options: SimRateLimitOptions, clock: Clock, resetFormat: 'seconds' | 'epoch') {
    this.#options = options;
    this.#clock = clock;
    this.#resetFormat = resetFormat;
  }

  take(connectionId: string): TakeResult {
    const now = this.#clock.now();
    const { capacity, refillPerSecond } = this.#options;
    const bucket = this.#buckets.get(connectionId) ?? { tokens: capacity, updatedAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * refillPerSecond);
    bucket.updatedAt = now;
    this.#buckets.set(connectionId, bucket);
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const secondsToFull = Math.ceil((capacity - bucket.tokens) / refillPerSecond);
    const reset = this.#resetFormat === 'epoch' ? Math.ceil(now / 1000) + secondsToFull : secondsToFull;
    return {
      allowed,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond)),
      headers: {
        'x-ratelimit-limit': String(capacity),
        'x-ratelimit-remaining': String(Math.max(0, Math.floor(bucket.tokens))),
        'x-ratelimit-reset': String(reset),
      },
    };
  }

  /** Headers for an answer that did not consume (a 429 storm): the bucket as it stands. */
  peekHeaders(connectionId: string): Record<string, string> {
    const bucket = this.#buckets.get(connectionId);
    const capacity = this.#options.capacity;
    const tokens = bucket === undefined ? capacity : bucket.tokens;
    const secondsToFull = Math.ceil((capacity - tokens) / this.#options.refillPerSecond);
    const now = this.#clock.now();
    return {
      'x-ratelimit-limit': String(capacity),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(this.#resetFormat === 'epoch' ? Math.ceil(now / 1000) + secondsToFull : secondsToFull),
    };
  }

  reset(): void {
    this.#buckets.clear();
  }
}
