import { Cron } from 'croner';
import type { Recurrence } from './model.ts';

/*
 * Occurrences of a series, computed by croner (a kept cron library with time-zone support) and
 * never by hand-written date arithmetic. Pure: every function takes the times it needs.
 *
 * DST, as croner documents it (Vixie cron's rule): a fixed-time job whose local time does not
 * exist on a spring-forward day runs at the first valid time after the gap, that day; one whose
 * local time occurs twice on a fall-back day runs once, at the first occurrence. With
 * fixedTimeRule 'no-wildcard', a job with lists or ranges but no wildcard or step in its minute
 * and hour fields (e.g. `0 9,17 * * *`) counts as fixed-time too, so no fan gets the same drop
 * twice in a repeated hour; only patterns with `*` or a step in those fields run on both passes.
 */

const MAX_CACHED = 1_000;
const cache = new Map<string, Cron>();

/** The parsed pattern; throws croner's error for a bad pattern or zone. */
function cronOf(cron: string, timezone: string): Cron {
  const key = `${timezone}\u0000${cron}`;
  let parsed = cache.get(key);
  if (!parsed) {
    if (cache.size >= MAX_CACHED) cache.clear();
    // No callback: croner schedules no timer, it only computes.
    parsed = new Cron(cron, { timezone, mode: '5-part', fixedTimeRule: 'no-wildcard', paused: true });
    cache.set(key, parsed);
  }
  return parsed;
}

function isValidTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first occurrence strictly after `afterMs`, or null when the series has no more (endsAt
 * passed; maxOccurrences is counted by the caller). A library answer that is not strictly later
 * is an error, never an endless catch-up loop.
 */
export function nextOccurrence(r: Pick<Recurrence, 'cron' | 'timezone' | 'endsAt'>, afterMs: number): number | null {
  const next = cronOf(r.cron, r.timezone).nextRun(new Date(afterMs));
  if (next === null) return null;
  const at = next.getTime();
  if (!(at > afterMs)) throw new Error(`cron library returned ${next.toISOString()}, not after ${new Date(afterMs).toISOString()}, for "${r.cron}" in ${r.timezone}`);
  if (r.endsAt !== null && at > r.endsAt) return null;
  return at;
}

/** Occurrences in (afterMs, untilMs], at most `limit`, ascending. */
export function occurrencesBetween(r: Pick<Recurrence, 'cron' | 'timezone' | 'endsAt'>, afterMs: number, untilMs: number, limit: number): number[] {
  const out: number[] = [];
  for (let at = nextOccurrence(r, afterMs); at !== null && at <= untilMs && out.length < limit; at = nextOccurrence(r, at)) out.push(at);
  return out;
}

/** How far ahead the gap check looks for DST changes, and how many occurrences it reads from now. */
const GAP_HORIZON_MS = 400 * 86_400_000;
const GAP_OCCURRENCES = 200;
const DAY_MS = 86_400_000;

/** The zone's UTC offset in minutes at `at` (from Intl, which knows the tz database). */
const offsetFormats = new Map<string, Intl.DateTimeFormat>();
function offsetMinutes(timezone: string, at: number): number {
  let format = offsetFormats.get(timezone);
  if (!format) {
    if (offsetFormats.size >= MAX_CACHED) offsetFormats.clear();
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
    offsetFormats.set(timezone, format);
  }
  const parts = format.formatToParts(new Date(at));
  const name = parts.find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!match) return 0;
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3] ?? 0));
}

/** Days in [from, to) on which the zone's offset changes: where a DST rule can bring occurrences closer. */
function offsetChanges(timezone: string, from: number, to: number): number[] {
  const out: number[] = [];
  let previous = offsetMinutes(timezone, from);
  for (let day = from + DAY_MS; day < to; day += DAY_MS) {
    const offset = offsetMinutes(timezone, day);
    if (offset !== previous) out.push(day);
    previous = offset;
  }
  return out;
}

/**
 * The smallest gap between consecutive occurrences (Infinity with fewer than two), used to
 * enforce RECURRENCE_MIN_INTERVAL. Walking a whole year of an hourly pattern through the library
 * takes seconds, so it reads the next GAP_OCCURRENCES occurrences (every daily, weekly and
 * monthly structure of a pattern at least an hour apart shows there) and the days around each
 * offset change of the year ahead (where DST can bring two occurrences closer). The walk costs
 * tens of milliseconds, once per save of a schedule; it stops early once a gap is below
 * `stopBelowMs`.
 */
export function minimumGapMs(r: Pick<Recurrence, 'cron' | 'timezone'>, now: number, stopBelowMs = 0): number {
  const series = { ...r, endsAt: null };
  let gap = Number.POSITIVE_INFINITY;
  const scan = (from: number, limit: number, until: number) => {
    let previous: number | null = null;
    for (let at = nextOccurrence(series, from), n = 0; at !== null && at <= until && n < limit && gap >= stopBelowMs; at = nextOccurrence(series, at), n++) {
      if (previous !== null) gap = Math.min(gap, at - previous);
      previous = at;
    }
  };
  scan(now, GAP_OCCURRENCES, now + GAP_HORIZON_MS);
  for (const day of offsetChanges(r.timezone, now, now + GAP_HORIZON_MS)) scan(day - 2 * DAY_MS, 100, day + 2 * DAY_MS);
  return gap;
}

/** "90 minutes", "1 hour", "2 days": for messages a marketer reads. */
export function describeInterval(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${name}${ms / size === 1 ? '' : 's'}`;
  }
  return `${ms} ms`;
}

/**
 * Problems with a series' schedule, each with a path inside the recurrence object and a message
 * a marketer understands; empty when valid. `minIntervalMs` is RECURRENCE_MIN_INTERVAL.
 */
export function findRecurrenceProblems(r: Recurrence, options: { minIntervalMs: number; now: number }): Array<{ path: string; message: string }> {
  if (!isValidTimezone(r.timezone)) return [{ path: 'timezone', message: `${r.timezone} is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)` }];
  const fields = r.cron.trim().split(/\s+/);
  if (fields.length !== 5) return [{ path: 'cron', message: `expected five fields (minute hour day-of-month month day-of-week), got ${fields.length}` }];
  try {
    cronOf(r.cron, r.timezone);
  } catch (error) {
    return [{ path: 'cron', message: `not a valid cron expression: ${error instanceof Error ? error.message : String(error)}` }];
  }
  const problems: Array<{ path: string; message: string }> = [];
  if (nextOccurrence({ ...r, endsAt: null }, options.now) === null) {
    problems.push({ path: 'cron', message: 'the expression never fires' });
    return problems;
  }
  const gap = minimumGapMs(r, options.now, options.minIntervalMs);
  if (gap < options.minIntervalMs) {
    problems.push({ path: 'cron', message: `occurrences come ${describeInterval(gap)} apart; the minimum is ${describeInterval(options.minIntervalMs)}` });
  }
  if (r.endsAt !== null && r.endsAt <= options.now) problems.push({ path: 'endsAt', message: 'must be in the future' });
  return problems;
}
