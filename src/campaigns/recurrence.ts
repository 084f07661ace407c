import { parseDuration } from '../duration.ts';
import type { FieldProblem } from '../errors.ts';
import { compileCron, CronSyntaxError, describeCronError, type CronSchedule } from './cron-schedule.ts';
import { findMinimumGap } from './recurrence-gap.ts';
import { describeTimeZoneError, formatLocal } from './time-zone.ts';

/**
 * Recurring campaigns, pure: no database and no clock, every time is epoch milliseconds passed
 * in. The cron library (behind cron-schedule.ts) finds occurrences in the series' time zone;
 * this module validates a series when it is saved and refuses any answer that does not move
 * forward, so a catch-up loop over occurrences always ends.
 */
export interface Recurrence {
  cron: string;
  timezone: string;
  /** Last moment the series may fire (inclusive), or null for no end. */
  endsAt: number | null;
  maxOccurrences: number | null;
}

export const MAX_OCCURRENCES = 10_000;

/** A series that cannot be scheduled, thrown where findRecurrenceProblems would have said why. */
export class RecurrenceError extends Error {
  override name = 'RecurrenceError';
}

/**
 * Validation problems, each with a path relative to the recurrence object ('cron', 'timezone',
 * 'endsAt', 'maxOccurrences') and a message a marketer understands. Empty when valid.
 */
export function findRecurrenceProblems(r: Recurrence, options: { minIntervalMs: number; now: number }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const zoneError = describeTimeZoneError(r.timezone);
  if (zoneError) problems.push({ path: 'timezone', message: zoneError });
  const cronError = describeCronError(r.cron);
  if (cronError) problems.push({ path: 'cron', message: cronError });
  const endsAtError = describeEndsAtError(r.endsAt, options.now);
  if (endsAtError) problems.push({ path: 'endsAt', message: endsAtError });
  if (r.maxOccurrences !== null && !(Number.isInteger(r.maxOccurrences) && r.maxOccurrences >= 1 && r.maxOccurrences <= MAX_OCCURRENCES)) {
    problems.push({ path: 'maxOccurrences', message: `must be a whole number from 1 to ${MAX_OCCURRENCES.toLocaleString('en-US')}` });
  }
  if (!zoneError && !cronError) problems.push(...findScheduleProblems(r, options, endsAtError === null));
  return problems;
}

/** What only the occurrences themselves show: never firing, ending first, firing too often. */
function findScheduleProblems(r: Recurrence, options: { minIntervalMs: number; now: number }, isEndsAtValid: boolean): FieldProblem[] {
  const schedule = compileCron(r.cron, r.timezone);
  const first = schedule.next(options.now);
  if (first === null) {
    return [{ path: 'cron', message: `"${r.cron}" never fires: no date matches it (such as 30 February)` }];
  }
  const problems: FieldProblem[] = [];
  if (isEndsAtValid && r.endsAt !== null && first > r.endsAt) {
    problems.push({ path: 'endsAt', message: `the series ends at ${iso(r.endsAt)}, before its first occurrence at ${iso(first)}` });
  }
  const gap = findMinimumGap(schedule, r.timezone, options.now, options.minIntervalMs);
  if (gap && gap.gapMs < options.minIntervalMs) {
    const example = `${formatLocal(gap.fromMs, r.timezone)} and ${formatLocal(gap.toMs, r.timezone)} in ${r.timezone}`;
    problems.push({
      path: 'cron',
      message: `occurrences ${describeDuration(gap.gapMs)} apart; the minimum is ${describeDuration(options.minIntervalMs)} (for example ${example})`,
    });
  }
  return problems;
}

function describeEndsAtError(endsAt: number | null, now: number): string | null {
  if (endsAt === null) return null;
  if (!Number.isFinite(endsAt)) return 'must be a date and time';
  if (endsAt <= now) return `must be in the future; ${iso(endsAt)} has passed`;
  return null;
}

/**
 * The first occurrence strictly after `afterMs` (epoch ms), or null when the series has no more
 * (endsAt passed; maxOccurrences is NOT applied here: the caller counts). Throws if the library
 * returns a time not strictly after afterMs (never loop forever), and RecurrenceError for a
 * series findRecurrenceProblems rejects.
 */
export function nextOccurrence(r: Pick<Recurrence, 'cron' | 'timezone' | 'endsAt'>, afterMs: number): number | null {
  assertTime(afterMs, 'afterMs');
  if (r.endsAt !== null && afterMs >= r.endsAt) return null;
  const next = scheduleOf(r).next(afterMs);
  return next === null || (r.endsAt !== null && next > r.endsAt) ? null : next;
}

/** Occurrences in (afterMs, untilMs], at most `limit`, ascending. */
export function occurrencesBetween(r: Pick<Recurrence, 'cron' | 'timezone' | 'endsAt'>, afterMs: number, untilMs: number, limit: number): number[] {
  assertTime(afterMs, 'afterMs');
  assertTime(untilMs, 'untilMs');
  const times: number[] = [];
  if (!(limit >= 1)) return times;
  const schedule = scheduleOf(r);
  const last = r.endsAt === null ? untilMs : Math.min(untilMs, r.endsAt);
  let cursor = afterMs;
  while (times.length < limit) {
    const next = schedule.next(cursor);
    if (next === null || next > last) break;
    times.push(next);
    cursor = next;
  }
  return times;
}

/**
 * The smallest gap between consecutive occurrences, from `now` over a bit more than a year
 * (400 days: every month boundary and clock change, plus the next Feb 29), used to enforce
 * RECURRENCE_MIN_INTERVAL. Bounded: clock changes are walked occurrence by occurrence, the rest
 * day by firing day (see recurrence-gap.ts). Infinity when the series fires at most once more.
 */
export function minimumGapMs(r: Pick<Recurrence, 'cron' | 'timezone'>, now: number): number {
  assertTime(now, 'now');
  return findMinimumGap(scheduleOf(r), r.timezone, now)?.gapMs ?? Infinity;
}

const STRICT_DURATION = /^\d+(ms|s|m|h|d)$/;

/**
 * Parses a duration like '1h', '30m', '90s', '2d', '500ms' into ms (for config:
 * RECURRENCE_MIN_INTERVAL, RECURRENCE_LEAD); throws on anything else, bare numbers included,
 * since "60" could mean seconds or minutes to whoever sets it.
 */
export function parseDurationMs(text: string): number {
  const trimmed = text.trim();
  const ms = STRICT_DURATION.test(trimmed) ? parseDuration(trimmed) : null;
  if (ms === null || !Number.isSafeInteger(ms)) {
    throw new Error(`"${text}" is not a duration; write a whole number and a unit: ms, s, m, h or d (e.g. 90s, 30m, 1h)`);
  }
  return ms;
}

const WORD_UNITS: Array<[string, number]> = [['day', 86_400_000], ['hour', 3_600_000], ['minute', 60_000], ['second', 1_000]];

/**
 * A duration in words: "1 hour", "1 hour 30 minutes", "45 seconds". Exact, never rounded, so a
 * gap just under the minimum never reads the same as the minimum.
 */
export function describeDuration(ms: number): string {
  const words: string[] = [];
  let rest = ms;
  for (const [unit, size] of WORD_UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) words.push(`${count} ${unit}${count === 1 ? '' : 's'}`);
  }
  if (rest > 0 || words.length === 0) words.push(`${rest} ms`);
  return words.join(' ');
}

function scheduleOf(r: Pick<Recurrence, 'cron' | 'timezone'>): CronSchedule {
  const zoneError = describeTimeZoneError(r.timezone);
  if (zoneError) throw new RecurrenceError(zoneError);
  try {
    return compileCron(r.cron, r.timezone);
  } catch (error) {
    if (error instanceof CronSyntaxError) throw new RecurrenceError(error.message);
    throw error;
  }
}

function assertTime(ms: number, name: string): void {
  if (!Number.isFinite(ms)) throw new RangeError(`${name} must be epoch milliseconds, got ${ms}`);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
