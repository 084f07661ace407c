/** Retry budget for retryable OFAuth failures. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** No retry is started if its wait would end later than this after the first attempt began. */
  maxTotalMs: number;
}

/** Five attempts within a minute: long enough to ride out a 429 at 1 token/s, short enough for a sync tick. */
export const defaultRetryPolicy: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxTotalMs: 60_000,
});

/**
 * Floor for any wait before a retry. A server saying "Retry-After: 0" or a reset already in
 * the past must still not turn into a tight loop of requests.
 */
export const MIN_RETRY_DELAY_MS = 100;

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): a uniform wait in [0, min(max, base·2^(attempt-1))], so clients that failed together
 * do not retry together. `attempt` is the attempt that just failed, starting at 1.
 */
export function computeBackoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(MIN_RETRY_DELAY_MS, Math.floor(random() * ceiling));
}

/** What the server said about its limits on one answer. Absent or unreadable headers are null. */
export interface RateLimitHints {
  limit: number | null;
  remaining: number | null;
  /** Milliseconds until the bucket is full again (X-RateLimit-Reset, either unit). */
  resetInMs: number | null;
  /** Milliseconds the server asked us to wait (Retry-After, seconds or HTTP date). */
  retryAfterMs: number | null;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | null {
  const value = headers[name] ?? headers[name.toLowerCase()];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? null : first.trim();
}

function headerNumber(headers: HeaderBag, name: string): number | null {
  const text = header(headers, name);
  if (text === null) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** Cap on any wait derived from headers: a clock-skewed epoch must not park a connection for hours. */
const MAX_HINTED_WAIT_MS = 10 * 60_000;

function clampWait(ms: number): number {
  return Math.min(MAX_HINTED_WAIT_MS, Math.max(0, Math.ceil(ms)));
}

/**
 * Reads X-RateLimit-Limit/-Remaining/-Reset and Retry-After. OFAuth names only -Reset and not
 * its unit, so a value that can only be an epoch (seconds > 1e9, or milliseconds > 1e12) is
 * read as one, anything smaller as seconds-to-reset.
 */
export function readRateLimitHints(headers: HeaderBag, nowMs: number): RateLimitHints {
  const reset = headerNumber(headers, 'x-ratelimit-reset');
  let resetInMs: number | null = null;
  if (reset !== null) {
    if (reset > 1e12) resetInMs = clampWait(reset - nowMs);
    else if (reset > 1e9) resetInMs = clampWait(reset * 1000 - nowMs);
    else resetInMs = clampWait(reset * 1000);
  }
  let retryAfterMs: number | null = null;
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) retryAfterMs = clampWait(seconds * 1000);
    else {
      const date = Date.parse(retryAfter);
      if (!Number.isNaN(date)) retryAfterMs = clampWait(date - nowMs);
    }
  }
  return {
    limit: headerNumber(headers, 'x-ratelimit-limit'),
    remaining: headerNumber(headers, 'x-ratelimit-remaining'),
    resetInMs,
    retryAfterMs,
  };
}

/**
 * How long to wait after a 429, if the server said: Retry-After wins; otherwise the time one
 * token takes to come back, derived from "full again in Reset" and the tokens missing
 * (Limit − Remaining). Waiting for the whole reset would idle a 90-token bucket for 90 s to
 * spend one token. Null when the answer carries neither, so the caller backs off instead.
 */
export function computeHintedWaitMs(hints: RateLimitHints): number | null {
  if (hints.retryAfterMs !== null) return Math.max(MIN_RETRY_DELAY_MS, hints.retryAfterMs);
  if (hints.resetInMs === null) return null;
  const missing = hints.limit !== null ? hints.limit - (hints.remaining ?? 0) : null;
  const perToken = missing !== null && missing >= 1 ? hints.resetInMs / missing : hints.resetInMs;
  return Math.max(MIN_RETRY_DELAY_MS, Math.ceil(perToken));
}
