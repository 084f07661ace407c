import { Cron } from 'croner';

/**
 * The one file that knows the cron library (croner). Everything else asks a CronSchedule for
 * epoch milliseconds, so a library swap or upgrade is checked against one seam and its tests.
 *
 * - mode '5-part': six- and seven-field patterns (seconds, years) are refused by the library,
 *   not by a regex of ours that could drift from what it actually parses.
 * - fixedTimeRule 'no-wildcard': a time the marketer wrote out (`30 2 * * *`, `0 9,17 * * *`)
 *   runs once on a fall-back night and at the end of a spring-forward gap; only `*` and steps
 *   repeat through the doubled hour. The library default would send `30 1,13 * * *` twice on a
 *   fall-back night, a duplicate mass message.
 */
const CRON_OPTIONS = { mode: '5-part', fixedTimeRule: 'no-wildcard' } as const;

export const FIVE_FIELDS = 'five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1"';

/** Both methods throw if the library answers a time on the wrong side of the one asked about. */
export interface CronSchedule {
  /** The first occurrence strictly after `afterMs`, or null when the pattern never fires again. */
  next(afterMs: number): number | null;
  /** The last occurrence strictly before `beforeMs`, or null. */
  previous(beforeMs: number): number | null;
}

/** Thrown for a pattern the library refuses; the message is written for a marketer. */
export class CronSyntaxError extends Error {
  override name = 'CronSyntaxError';
}

// Building a croner job costs about half a millisecond (it fills a 10,000-entry year table),
// and the materializer asks for the same few patterns on every tick.
const CACHE_LIMIT = 256;
const cache = new Map<string, Cron>();

/** Compiles a five-field pattern in an IANA zone (validate the zone first); throws CronSyntaxError. */
export function compileCron(pattern: string, timezone: string): CronSchedule {
  const cron = cachedCron(pattern, timezone);
  const describe = (ms: number) => `${new Date(ms).toISOString()} for "${pattern}" in ${timezone}`;
  return {
    next(afterMs) {
      const next = cron.nextRun(new Date(afterMs))?.getTime() ?? null;
      // A repeat or a step back would make every caller that walks occurrences loop forever.
      if (next !== null && !(next > afterMs)) throw new Error(`cron library returned ${describe(next)}, not after ${new Date(afterMs).toISOString()}`);
      return next;
    },
    previous(beforeMs) {
      const previous = cron.previousRuns(1, new Date(beforeMs))[0]?.getTime() ?? null;
      if (previous !== null && !(previous < beforeMs)) throw new Error(`cron library returned ${describe(previous)}, not before ${new Date(beforeMs).toISOString()}`);
      return previous;
    },
  };
}

/** Why `pattern` is not a five-field cron, in words; null when the library accepts it. */
export function describeCronError(pattern: string): string | null {
  try {
    cachedCron(pattern, 'UTC');
    return null;
  } catch (error) {
    if (error instanceof CronSyntaxError) return error.message;
    throw error;
  }
}

function cachedCron(pattern: string, timezone: string): Cron {
  const key = `${timezone}\u0000${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const cron = buildCron(pattern, timezone);
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, cron);
  return cron;
}

function buildCron(pattern: string, timezone: string): Cron {
  const refusal = refuseBeforeParsing(pattern.trim());
  if (refusal) throw new CronSyntaxError(refusal);
  try {
    return new Cron(pattern, { ...CRON_OPTIONS, timezone });
  } catch (error) {
    const detail = (error instanceof Error ? error.message : String(error)).replace(/^CronPattern:\s*/, '');
    throw new CronSyntaxError(`"${pattern}" is not a valid cron expression (${detail}); use ${FIVE_FIELDS}`);
  }
}

/**
 * Shapes croner would accept but a recurring campaign must not: croner reads any string with a
 * colon as a one-off ISO date, and its own field-count message names parts, not fields.
 * Nicknames it maps to five fields (@hourly, @daily, @weekly, @monthly, @yearly) pass through.
 */
// The nicknames croner maps to five fields; @reboot is an event, not a time.
const NICKNAMES = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'];

function refuseBeforeParsing(pattern: string): string | null {
  if (pattern === '') return `the cron expression is empty; use ${FIVE_FIELDS}`;
  if (pattern.includes(':')) return `"${pattern}" looks like a date or a clock time, not a cron expression; use ${FIVE_FIELDS}`;
  if (pattern.startsWith('@')) {
    if (NICKNAMES.includes(pattern.toLowerCase())) return null;
    return `"${pattern}" is not a schedule; use ${NICKNAMES.join(', ')} or ${FIVE_FIELDS}`;
  }
  const count = pattern.split(/\s+/).length;
  if (count === 5) return null;
  const extra = count > 5 ? ' (seconds and years are not supported)' : '';
  return `"${pattern}" has ${count} fields${extra}; use ${FIVE_FIELDS}`;
}
