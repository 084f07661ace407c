/** First retry after about this long; doubles per consecutive failure. */
export const BACKOFF_BASE_MS = 2_000;
/** Never wait longer than this between attempts on one campaign. */
export const BACKOFF_CAP_MS = 5 * 60_000;

/**
 * Delay before the next attempt after `attempts` consecutive failures: exponential, capped, with
 * "equal jitter" (half fixed, half random) so many campaigns failing together spread out but
 * none retries immediately. OFAuth's own wait hint wins when it is longer.
 */
export function retryDelayMs(attempts: number, random: () => number, hintMs: number | null = null): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.max(jittered, hintMs ?? 0));
}
