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

/** OFAuth's Access API plans (Pay as You Go, Starter): 90 burst, 60/min. */
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
  /** A burst started from a full bucket and none of it has reached OFAuth yet (as far as we know). */
  anchor: Anchor | null;
  /** Total time the schedule was moved back (anchors, 429s); sleepers shift by what they missed. */
  shiftMs: number;
}

interface Anchor {
  startedAt: number;
  /** Refill the bucket actually credited since `startedAt` (less than elapsed × rate once capped). */
  creditedTokens: number;
  confirmed: Promise<void>;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

const FULL_EPSILON = 1e-9;
/**
 * Longest that callers needing refill wait for a burst's first answer (real time). A slow first
 * call (a create can take seconds) must not hold the connection; past this the whole wait is
 * counted as lost refill, which is the conservative guess.
 */
const ANCHOR_MAX_WAIT_MS = 1000;

/**
 * Per-connection token bucket shaped like OFAuth's, so the client waits instead of earning
 * 429s. Callers reserve a token up front (the balance may go negative) and sleep until their
 * slot: concurrent callers then leave in order at exactly the refill rate, with no polling.
 *
 * Trap: OFAuth's bucket starts refilling when our first request *arrives*, ours when it was
 * reserved. For a burst out of a full bucket the gap (queueing here, connecting) would be
 * counted as refill OFAuth never granted, so callers that need refill wait until the burst's
 * first request has left (`sent`: handed to a connected socket) or, when that moment is not
 * known, its first answer (`confirm`), and the refill clock is moved to that moment
 * ("anchoring"). What is left, the network's one-way delay, is what `headroom` absorbs: at
 * OFAuth's 1 token/s, one token of headroom is a second of it. Anchoring at the answer instead
 * would take the whole pass-through latency (hundreds of ms) off every burst's refill.
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
    const now = this.#clock.now();
    if (bucket.anchor === null && bucket.tokens >= this.#effectiveCapacity(bucket) - FULL_EPSILON) {
      let resolve = () => {};
      const confirmed = new Promise<void>((r) => (resolve = r));
      const timer = setTimeout(() => this.confirm(connectionId), ANCHOR_MAX_WAIT_MS).unref();
      bucket.anchor = { startedAt: now, creditedTokens: 0, confirmed, resolve, timer };
    }
    bucket.tokens -= 1;
    const needsRefill = bucket.tokens < 0;
    const debtMs = needsRefill ? (-bucket.tokens / this.#options.refillPerSecond) * 1000 : 0;
    let readyAt = now + debtMs;
    let shiftSeen = bucket.shiftMs;
    try {
      for (;;) {
        if (needsRefill && bucket.anchor !== null) await abortable(bucket.anchor.confirmed, signal);
        // Anchoring moved the refill clock, and a 429 seen by another caller pushes everyone back.
        readyAt = Math.max(readyAt + (bucket.shiftMs - shiftSeen), bucket.blockedUntil);
        shiftSeen = bucket.shiftMs;
        const current = this.#clock.now();
        if (readyAt <= current) return;
        await this.#sleep(readyAt - current, signal);
      }
    } catch (error) {
      bucket.tokens += 1;
      if (bucket.anchor !== null && bucket.tokens >= this.#effectiveCapacity(bucket) - FULL_EPSILON) this.#settleAnchor(bucket, 0);
      throw error;
    }
  }

  /**
   * A request on this connection was handed to a connected socket: OFAuth's refill starts about
   * now. Ends a pending anchor (see `confirm`).
   */
  sent(connectionId: string): void {
    this.confirm(connectionId);
  }

  /**
   * OFAuth answered (or the attempt ended) on this connection. Ends a pending anchor: the
   * refill the bucket credited since the burst began is taken back, and waiting callers shift.
   */
  confirm(connectionId: string): void {
    const bucket = this.#buckets.get(connectionId);
    if (bucket?.anchor == null) return;
    this.#refill(connectionId);
    this.#settleAnchor(bucket, this.#clock.now() - bucket.anchor.startedAt);
  }

  #settleAnchor(bucket: Bucket, lostMs: number): void {
    const anchor = bucket.anchor;
    if (anchor === null) return;
    bucket.anchor = null;
    clearTimeout(anchor.timer);
    if (lostMs > 0) {
      // Only what was credited is taken back: refill past a full bucket was never added.
      const phantom = Math.min((lostMs / 1000) * this.#options.refillPerSecond, anchor.creditedTokens);
      bucket.tokens -= phantom;
      bucket.shiftMs += (phantom / this.#options.refillPerSecond) * 1000;
    }
    anchor.resolve();
  }

  /**
   * This process just took the connection over from another one, whose spending OFAuth still
   * counts: start from an empty bucket (refilling from now) rather than a full one, so the
   * handover never adds a second burst. OFAuth's Remaining header corrects it from the first answer.
   */
  assumeSpent(connectionId: string): void {
    const bucket = this.#refill(connectionId);
    bucket.tokens = Math.min(bucket.tokens, 0);
  }

  /** Tokens this connection could spend now without waiting. */
  available(connectionId: string): number {
    const bucket = this.#refill(connectionId);
    if (bucket.blockedUntil > this.#clock.now()) return 0;
    return Math.max(0, Math.floor(bucket.tokens));
  }

  /**
   * Milliseconds until available() reaches 1 if nobody spends meanwhile (0: it is 1 now). A hint
   * for callers that start work only when a token is there: settling an anchor can still take
   * refill back, so they check available() again when it is up.
   */
  msUntilAvailable(connectionId: string): number {
    const bucket = this.#refill(connectionId);
    const refillMs = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / this.#options.refillPerSecond) * 1000;
    return Math.max(refillMs, bucket.blockedUntil - this.#clock.now(), 0);
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

  /**
   * After a 429: OFAuth is at least `waitMs` behind our model. The whole schedule moves back by
   * that much (callers already waiting keep their spacing instead of all leaving together when
   * the wait ends, which would earn the next 429), and nobody on the connection sends before.
   */
  block(connectionId: string, waitMs: number): void {
    const bucket = this.#refill(connectionId);
    bucket.tokens = Math.min(bucket.tokens, 0) - (waitMs / 1000) * this.#options.refillPerSecond;
    bucket.shiftMs += waitMs;
    bucket.blockedUntil = Math.max(bucket.blockedUntil, this.#clock.now() + waitMs);
  }

  #effectiveCapacity(bucket: Bucket): number {
    return Math.max(1, bucket.capacity - this.#options.headroom);
  }

  #refill(connectionId: string): Bucket {
    const now = this.#clock.now();
    let bucket = this.#buckets.get(connectionId);
    if (bucket === undefined) {
      bucket = { capacity: this.#options.capacity, tokens: 0, updatedAt: now, blockedUntil: 0, anchor: null, shiftMs: 0 };
      bucket.tokens = this.#effectiveCapacity(bucket);
      this.#buckets.set(connectionId, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    const before = bucket.tokens;
    bucket.tokens = Math.min(
      this.#effectiveCapacity(bucket),
      bucket.tokens + (elapsed / 1000) * this.#options.refillPerSecond,
    );
    if (bucket.anchor !== null) bucket.anchor.creditedTokens += Math.max(0, bucket.tokens - before);
    bucket.updatedAt = now;
    return bucket;
  }
}

/** Waits for `promise` unless the signal aborts first (rejecting with the signal's reason). */
function abortable(promise: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      reject,
    );
  });
}
