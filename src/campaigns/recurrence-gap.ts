import { compileCron, type CronSchedule } from './cron-schedule.ts';
import { dayAfter, localDate, offsetChangesBetween } from './time-zone.ts';

/** Two consecutive occurrences and the time between them. */
export interface Gap {
  gapMs: number;
  fromMs: number;
  toMs: number;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** A leap year and a month: every month boundary, a turn of the year and a year's clock changes. */
const HORIZON_DAYS = 400;
/** Either side of a clock change; the widest in use (Antarctica/Troll) moves two hours. */
const CHANGE_MARGIN_MS = 3 * HOUR_MS;
/** Five-field occurrences are whole minutes and offsets whole minutes, so nothing is closer. */
const FLOOR_MS = MINUTE_MS;

/**
 * The smallest gap between consecutive occurrences, scanning where a gap can differ instead of
 * every occurrence: a year of hourly sends is 9,000 library calls, about three seconds.
 *
 * The hours and minutes of a five-field cron are the same on every day it fires, so outside
 * clock changes a gap is either between two times of one day (seen by walking two whole firing
 * days) or from one firing day's last time to the next one's first (seen by visiting each firing
 * day of the horizon, until two adjacent dates fire, which no later pair can beat). Clock changes
 * are walked occurrence by occurrence, and so is the next Feb 29 when the horizon has none, as
 * only a leap year makes Feb 28, 29 and Mar 1 adjacent. The first two occurrences always count,
 * so a pattern that fires once in years still has its gap.
 *
 * Stops as soon as a gap below `stopBelowMs` is found (that gap is returned, not necessarily the
 * smallest) or a one-minute gap is. Null when the pattern fires fewer than two times.
 */
export function findMinimumGap(schedule: CronSchedule, timezone: string, now: number, stopBelowMs = 0): Gap | null {
  const midnights = compileCron('0 0 * * *', timezone);
  // Local midnight, so the whole days walked below really are whole.
  const start = midnights.next(now) ?? now;
  const end = start + HORIZON_DAYS * DAY_MS;
  const scan = new GapScan(schedule, midnights, timezone, stopBelowMs);

  const first = schedule.next(start - 1);
  scan.walk(first, first === null ? start : first + 1);
  scan.walkWholeDays(start, 2);
  scan.visitFiringDays(start, end);
  scan.walkClockChanges(start, end);

  const leapDay = nextLeapDay(start);
  if (leapDay > end && !scan.hasAdjacentDays) {
    const from = leapDay - 2 * DAY_MS;
    const until = leapDay + 2 * DAY_MS;
    scan.visitFiringDays(midnights.next(from) ?? from, until);
    scan.walkClockChanges(from, until);
  }
  return scan.best;
}

class GapScan {
  best: Gap | null = null;
  hasAdjacentDays = false;

  constructor(
    private readonly schedule: CronSchedule,
    private readonly midnights: CronSchedule,
    private readonly timezone: string,
    private readonly stopBelowMs: number,
  ) {}

  get isDone(): boolean {
    return this.best !== null && (this.best.gapMs <= FLOOR_MS || this.best.gapMs < this.stopBelowMs);
  }

  /** Every occurrence from `from` on, up to and including the first one at or after `until`. */
  walk(from: number | null, until: number): void {
    let previous = from;
    while (previous !== null && previous < until && !this.isDone) {
      const next = this.schedule.next(previous);
      if (next === null) return;
      this.consider(previous, next);
      previous = next;
    }
  }

  walkWholeDays(start: number, days: number): void {
    let first = this.schedule.next(start - 1);
    for (let day = 0; day < days && first !== null && !this.isDone; day++) {
      const dayEnd = this.midnights.next(first) ?? first + DAY_MS;
      this.walk(first, dayEnd);
      first = this.schedule.next(dayEnd - 1);
    }
  }

  /** A firing day's last occurrence to the next firing day's first, for each firing day. */
  visitFiringDays(start: number, end: number): void {
    let first = this.schedule.next(start - 1);
    while (first !== null && first < end && !this.isDone) {
      const dayEnd = this.midnights.next(first) ?? first + DAY_MS;
      const last = this.schedule.previous(dayEnd) ?? first;
      const following = this.schedule.next(last);
      if (following === null) return;
      this.consider(last, following);
      if (localDate(following, this.timezone) === dayAfter(localDate(first, this.timezone))) {
        this.hasAdjacentDays = true;
        return;
      }
      first = following;
    }
  }

  walkClockChanges(start: number, end: number): void {
    if (this.isDone) return;
    for (const change of offsetChangesBetween(this.timezone, start, end)) {
      const from = change - CHANGE_MARGIN_MS;
      this.walk(this.schedule.previous(from) ?? this.schedule.next(from - 1), change + CHANGE_MARGIN_MS);
    }
  }

  private consider(fromMs: number, toMs: number): void {
    const gapMs = toMs - fromMs;
    if (this.best === null || gapMs < this.best.gapMs) this.best = { gapMs, fromMs, toMs };
  }
}

/** Midnight UTC of the first Feb 29 at or after `ms`. */
function nextLeapDay(ms: number): number {
  for (let year = new Date(ms).getUTCFullYear(); ; year++) {
    const isLeap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    const leapDay = Date.UTC(year, 1, 29);
    if (isLeap && leapDay >= ms) return leapDay;
  }
}
