import { Cron } from 'croner';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  describeDuration,
  findRecurrenceProblems,
  minimumGapMs,
  nextOccurrence,
  occurrencesBetween,
  parseDurationMs,
  RecurrenceError,
  type Recurrence,
} from '../../src/campaigns/recurrence.ts';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = at('2030-01-01T00:00:00Z');

function series(cron: string, timezone = 'UTC', endsAt: number | null = null): Recurrence {
  return { cron, timezone, endsAt, maxOccurrences: null };
}

/** The first `count` occurrences after `from`, as ISO strings in UTC. */
function runs(cron: string, timezone: string, from: string, count: number): string[] {
  return occurrencesBetween(series(cron, timezone), at(from), at(from) + 400 * DAY, count).map(iso);
}

function localTime(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' }).format(ms);
}

function problems(r: Recurrence, minIntervalMs = HOUR) {
  return findRecurrenceProblems(r, { minIntervalMs, now: NOW });
}

// The DST rule under test, as croner 11 documents it with fixedTimeRule 'no-wildcard' (see
// cron-schedule.ts): a time written out runs once, at the first pass on a fall-back night and
// at the end of the gap on a spring-forward one; `*` and steps skip the gap and run both passes.
// 2030 changes: America/New_York 10 Mar 02:00 EST -> 03:00 EDT, 3 Nov 02:00 EDT -> 01:00 EST;
// Europe/Berlin 31 Mar 02:00 CET -> 03:00 CEST, 27 Oct 03:00 CEST -> 02:00 CET.
describe('occurrences across clock changes', () => {
  it('America/New_York spring forward: 02:30 does not exist, so it runs at 03:00 EDT that day', () => {
    expect(runs('30 2 * * *', 'America/New_York', '2030-03-09T00:00:00Z', 3)).toEqual([
      '2030-03-09T07:30:00.000Z', // 02:30 EST
      '2030-03-10T07:00:00.000Z', // 03:00 EDT, the end of the gap
      '2030-03-11T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  it('America/New_York fall back: 01:30 happens twice and runs once, on the first (EDT) pass', () => {
    expect(runs('30 1 * * *', 'America/New_York', '2030-11-02T12:00:00Z', 2)).toEqual([
      '2030-11-03T05:30:00.000Z', // 01:30 EDT; 01:30 EST (06:30Z) is not an occurrence
      '2030-11-04T06:30:00.000Z', // 01:30 EST
    ]);
  });

  it('Europe/Berlin spring forward and fall back, the same rule', () => {
    expect(runs('30 2 * * *', 'Europe/Berlin', '2030-03-30T12:00:00Z', 2)).toEqual([
      '2030-03-31T01:00:00.000Z', // 03:00 CEST
      '2030-04-01T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(runs('30 2 * * *', 'Europe/Berlin', '2030-10-26T12:00:00Z', 2)).toEqual([
      '2030-10-27T00:30:00.000Z', // 02:30 CEST; 02:30 CET (01:30Z) is not an occurrence
      '2030-10-28T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('a list of written-out times is fixed too: each runs once, none is skipped', () => {
    expect(runs('30 2,14 * * *', 'Europe/Berlin', '2030-03-30T23:00:00Z', 2)).toEqual([
      '2030-03-31T01:00:00.000Z', // 02:30 moved to 03:00 CEST
      '2030-03-31T12:30:00.000Z',
    ]);
    expect(runs('30 1,2 * * *', 'Europe/Berlin', '2030-10-26T22:00:00Z', 3)).toEqual([
      '2030-10-26T23:30:00.000Z', // 01:30 CEST
      '2030-10-27T00:30:00.000Z', // 02:30 CEST, once
      '2030-10-28T00:30:00.000Z',
    ]);
  });

  it('a step pattern skips the spring gap and runs through both passes of the repeated hour', () => {
    expect(runs('*/30 * * * *', 'America/New_York', '2030-03-10T06:15:00Z', 3)).toEqual([
      '2030-03-10T06:30:00.000Z', // 01:30 EST
      '2030-03-10T07:00:00.000Z', // 03:00 EDT: 02:00 and 02:30 never happen
      '2030-03-10T07:30:00.000Z',
    ]);
    expect(runs('*/30 * * * *', 'America/New_York', '2030-11-03T04:45:00Z', 5)).toEqual([
      '2030-11-03T05:00:00.000Z', // 01:00 EDT
      '2030-11-03T05:30:00.000Z', // 01:30 EDT
      '2030-11-03T06:00:00.000Z', // 01:00 EST
      '2030-11-03T06:30:00.000Z', // 01:30 EST
      '2030-11-03T07:00:00.000Z', // 02:00 EST
    ]);
    expect(runs('0 * * * *', 'Europe/Berlin', '2030-10-26T23:30:00Z', 3)).toEqual([
      '2030-10-27T00:00:00.000Z', // 02:00 CEST
      '2030-10-27T01:00:00.000Z', // 02:00 CET
      '2030-10-27T02:00:00.000Z', // 03:00 CET
    ]);
  });

  it('a weekly send keeps its local wall time across both changes', () => {
    for (const timezone of ['Europe/Berlin', 'America/New_York']) {
      const mondays = occurrencesBetween(series('0 9 * * 1', timezone), at('2030-03-01T00:00:00Z'), at('2030-11-30T00:00:00Z'), 100);
      expect(mondays).toHaveLength(39);
      expect(new Set(mondays.map((ms) => localTime(ms, timezone)))).toEqual(new Set(['Mon 09:00']));
    }
    // Berlin: 09:00 CET is 08:00Z, 09:00 CEST is 07:00Z.
    expect(runs('0 9 * * 1', 'Europe/Berlin', '2030-03-25T00:00:00Z', 2)).toEqual(['2030-03-25T08:00:00.000Z', '2030-04-01T07:00:00.000Z']);
    expect(runs('0 9 * * 1', 'Europe/Berlin', '2030-10-21T00:00:00Z', 2)).toEqual(['2030-10-21T07:00:00.000Z', '2030-10-28T08:00:00.000Z']);
  });
});

describe('nextOccurrence', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is strictly after afterMs, also from an occurrence itself or a fraction of a second before', () => {
    const daily = series('0 9 * * *');
    expect(nextOccurrence(daily, at('2030-01-01T09:00:00Z'))).toBe(at('2030-01-02T09:00:00Z'));
    expect(nextOccurrence(daily, at('2030-01-01T09:00:00.500Z'))).toBe(at('2030-01-02T09:00:00Z'));
    expect(nextOccurrence(daily, at('2030-01-01T08:59:59.999Z'))).toBe(at('2030-01-01T09:00:00Z'));
  });

  it('strictly increases when fed its own answers, through both 2030 changes', () => {
    for (const [cron, timezone] of [['*/30 * * * *', 'America/New_York'], ['30 1,2 * * *', 'Europe/Berlin'], ['0 9 * * 1-5', 'Europe/Berlin']] as const) {
      const r = series(cron, timezone);
      let previous = at('2030-03-08T00:00:00Z');
      for (let step = 0; step < 400; step++) {
        const next = nextOccurrence(r, previous);
        expect(next).not.toBeNull();
        expect(next!).toBeGreaterThan(previous);
        previous = next!;
      }
    }
  });

  it('returns null once endsAt has passed; an occurrence exactly at endsAt still counts', () => {
    const r = series('0 9 * * *', 'UTC', at('2030-01-03T09:00:00Z'));
    expect(nextOccurrence(r, at('2030-01-02T09:00:00Z'))).toBe(at('2030-01-03T09:00:00Z'));
    expect(nextOccurrence(r, at('2030-01-03T09:00:00Z'))).toBeNull();
    expect(nextOccurrence(r, at('2031-01-01T00:00:00Z'))).toBeNull();
  });

  it('throws rather than answer a time that is not after afterMs', () => {
    const afterMs = at('2030-01-01T10:00:00Z');
    vi.spyOn(Cron.prototype, 'nextRun').mockReturnValue(new Date(afterMs));
    expect(() => nextOccurrence(series('0 * * * *'), afterMs)).toThrow(/not after 2030-01-01T10:00:00.000Z/);
  });

  it('throws RecurrenceError for a series that validation rejects', () => {
    expect(() => nextOccurrence(series('0 9 * * *', 'Mars/Base'), NOW)).toThrow(RecurrenceError);
    expect(() => nextOccurrence(series('0 0 9 * * *'), NOW)).toThrow(RecurrenceError);
    expect(() => nextOccurrence(series('0 9 * * *'), Number.NaN)).toThrow(RangeError);
  });
});

describe('occurrencesBetween', () => {
  it('covers (afterMs, untilMs] in ascending order', () => {
    const hourly = series('0 * * * *');
    expect(occurrencesBetween(hourly, at('2030-01-01T09:00:00Z'), at('2030-01-01T12:00:00Z'), 10).map(iso)).toEqual([
      '2030-01-01T10:00:00.000Z',
      '2030-01-01T11:00:00.000Z',
      '2030-01-01T12:00:00.000Z',
    ]);
  });

  it('stops at limit', () => {
    const times = occurrencesBetween(series('*/5 * * * *'), NOW, NOW + DAY, 10);
    expect(times).toHaveLength(10);
    expect(times[0]).toBe(NOW + 5 * MINUTE);
    expect(times[9]).toBe(NOW + 50 * MINUTE);
    expect(occurrencesBetween(series('*/5 * * * *'), NOW, NOW + DAY, 0)).toEqual([]);
  });

  it('is cut by endsAt', () => {
    const r = series('0 9 * * *', 'UTC', at('2030-01-03T12:00:00Z'));
    expect(occurrencesBetween(r, NOW, at('2030-02-01T00:00:00Z'), 100).map(iso)).toEqual([
      '2030-01-01T09:00:00.000Z',
      '2030-01-02T09:00:00.000Z',
      '2030-01-03T09:00:00.000Z',
    ]);
  });
});

describe('minimumGapMs', () => {
  it('is the tightest spacing of the pattern', () => {
    expect(minimumGapMs(series('0 * * * *'), NOW)).toBe(HOUR);
    expect(minimumGapMs(series('*/30 * * * *'), NOW)).toBe(30 * MINUTE);
    expect(minimumGapMs(series('0 9,10 * * *', 'Europe/Berlin'), NOW)).toBe(HOUR);
    expect(minimumGapMs(series('0 9 * * 1', 'Europe/Berlin'), NOW)).toBe(7 * DAY - HOUR); // across spring forward
    expect(minimumGapMs(series('*/2 * * * *', 'Europe/Berlin'), NOW)).toBe(2 * MINUTE);
  });

  it('sees gaps across midnight and the turn of the year', () => {
    expect(minimumGapMs(series('0 0,23 * * *'), NOW)).toBe(HOUR);
    expect(minimumGapMs(series('0 0,23 1,31 12,1 *'), NOW)).toBe(HOUR); // 31 Dec 23:00 -> 1 Jan 00:00
  });

  it('sees gaps that only a clock change makes', () => {
    // 01:00 EST -> 03:00 EDT on 10 Mar is one real hour; every other day it is two.
    expect(minimumGapMs(series('0 1,3 * * *', 'America/New_York'), NOW)).toBe(HOUR);
    expect(minimumGapMs(series('0 1,3 * * *', 'UTC'), NOW)).toBe(2 * HOUR);
    // 02:45 does not exist on 10 Mar, so it runs at 03:00, a quarter hour after 01:45.
    expect(minimumGapMs(series('45 1,2 * * *', 'America/New_York'), NOW)).toBe(15 * MINUTE);
  });

  it('sees gaps that only Feb 29 makes, even when the next one is two years away', () => {
    expect(minimumGapMs(series('0 0,23 28,29 2 *'), NOW)).toBe(HOUR); // Feb 28 23:00 -> Feb 29 00:00, 2032
    expect(minimumGapMs(series('0 0,23 28 2 *'), NOW)).toBe(23 * HOUR);
    expect(minimumGapMs(series('0 0 29 2 *'), NOW)).toBe(1461 * DAY); // 2032 -> 2036
  });

  it('is Infinity for a pattern that never fires', () => {
    expect(minimumGapMs(series('0 0 30 2 *'), NOW)).toBe(Infinity);
  });

  it('matches walking every occurrence of the year', () => {
    const cases: Array<[string, string]> = [
      ['0 1,3 * * *', 'America/New_York'],
      ['0,45 1,3 * * *', 'America/New_York'],
      ['0 0,23 * * 1,2', 'Europe/Berlin'],
      ['15 0 * * *', 'America/Santiago'], // its clocks change at midnight
      ['0 */6 * * *', 'Australia/Lord_Howe'], // a half-hour change
    ];
    for (const [cron, timezone] of cases) {
      const r = series(cron, timezone);
      let smallest = Infinity;
      let previous = nextOccurrence(r, NOW)!;
      while (previous < NOW + 400 * DAY) {
        const next = nextOccurrence(r, previous)!;
        smallest = Math.min(smallest, next - previous);
        previous = next;
      }
      expect(minimumGapMs(r, NOW), `${cron} in ${timezone}`).toBe(smallest);
    }
  });
});

describe('findRecurrenceProblems', () => {
  it('accepts a valid series', () => {
    expect(problems({ cron: '0 9 * * 1', timezone: 'Europe/Berlin', endsAt: at('2031-01-01T00:00:00Z'), maxOccurrences: 10_000 })).toEqual([]);
    expect(problems(series('@daily'))).toEqual([]);
  });

  it('applies the minimum interval, naming both in words', () => {
    expect(problems(series('0 * * * *'), HOUR)).toEqual([]);
    expect(problems(series('0 9,10 * * *', 'Europe/Berlin'), HOUR)).toEqual([]);
    expect(problems(series('*/30 * * * *'), HOUR)).toEqual([
      { path: 'cron', message: expect.stringMatching(/^occurrences 30 minutes apart; the minimum is 1 hour \(for example 2030-01-02 00:00 and 2030-01-02 00:30 in UTC\)$/) },
    ]);
    expect(problems(series('0 9,10 * * *', 'Europe/Berlin'), 2 * HOUR)[0]?.message).toMatch(/^occurrences 1 hour apart; the minimum is 2 hours/);
  });

  it('points at the clock change when only that brings occurrences too close', () => {
    expect(problems(series('0 1,3 * * *', 'America/New_York'), 2 * HOUR)[0]?.message).toBe(
      'occurrences 1 hour apart; the minimum is 2 hours (for example 2030-03-10 01:00 and 2030-03-10 03:00 in America/New_York)',
    );
  });

  it('rejects an unknown or miswritten time zone, naming it', () => {
    expect(problems(series('0 9 * * *', 'Mars/Base'))).toEqual([{ path: 'timezone', message: expect.stringContaining('"Mars/Base" is not a known time zone') }]);
    expect(problems(series('0 9 * * *', 'europe/berlin'))).toEqual([{ path: 'timezone', message: 'write the time zone as "Europe/Berlin"' }]);
    expect(problems(series('0 9 * * *', '+01:00'))[0]).toMatchObject({ path: 'timezone', message: expect.stringContaining('UTC offset') });
  });

  it('rejects anything but a five-field cron', () => {
    const messageFor = (cron: string) => {
      const found = problems(series(cron));
      expect(found).toHaveLength(1);
      expect(found[0]?.path).toBe('cron');
      return found[0]!.message;
    };
    expect(messageFor('0 0 9 * * *')).toMatch(/has 6 fields \(seconds and years are not supported\); use five fields/);
    expect(messageFor('0 0 9 * * * 2030')).toMatch(/has 7 fields/);
    expect(messageFor('0 9 * *')).toMatch(/has 4 fields; use five fields/);
    expect(messageFor('')).toMatch(/empty/);
    expect(messageFor('61 * * * *')).toMatch(/"61 \* \* \* \*" is not a valid cron expression \(Invalid value for minute: 61\)/);
    expect(messageFor('@reboot')).toMatch(/"@reboot" is not a schedule/);
    expect(messageFor('@fortnightly')).toMatch(/is not a schedule/);
    // croner would read this as a one-off date.
    expect(messageFor('2030-01-01T09:00:00')).toMatch(/looks like a date/);
  });

  it('rejects a cron that never fires', () => {
    expect(problems(series('0 0 30 2 *'))).toEqual([{ path: 'cron', message: '"0 0 30 2 *" never fires: no date matches it (such as 30 February)' }]);
    expect(problems(series('0 0 31 4 *'))[0]?.message).toMatch(/never fires/);
  });

  it('checks endsAt and maxOccurrences', () => {
    const base = series('0 9 * * *');
    expect(problems({ ...base, endsAt: NOW })).toEqual([{ path: 'endsAt', message: 'must be in the future; 2030-01-01T00:00:00.000Z has passed' }]);
    expect(problems({ ...base, endsAt: at('2030-01-01T08:00:00Z') })).toEqual([
      { path: 'endsAt', message: 'the series ends at 2030-01-01T08:00:00.000Z, before its first occurrence at 2030-01-01T09:00:00.000Z' },
    ]);
    for (const maxOccurrences of [0, -1, 1.5, 10_001]) {
      expect(problems({ ...base, maxOccurrences })).toEqual([{ path: 'maxOccurrences', message: 'must be a whole number from 1 to 10,000' }]);
    }
    expect(problems({ ...base, maxOccurrences: 1 })).toEqual([]);
  });

  it('reports every problem at once', () => {
    const found = problems({ cron: '* * *', timezone: 'Mars/Base', endsAt: NOW - 1, maxOccurrences: 0 });
    expect(found.map((problem) => problem.path)).toEqual(['timezone', 'cron', 'endsAt', 'maxOccurrences']);
  });
});

describe('parseDurationMs', () => {
  it('reads a whole number and a unit', () => {
    expect(parseDurationMs('1h')).toBe(HOUR);
    expect(parseDurationMs('30m')).toBe(30 * MINUTE);
    expect(parseDurationMs('90s')).toBe(90_000);
    expect(parseDurationMs('2d')).toBe(2 * DAY);
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs(' 0s ')).toBe(0);
  });

  it('throws on anything else', () => {
    for (const text of ['', '60', '1.5h', '1 h', '-1h', '1w', 'h', '1hour', '1h30m']) {
      expect(() => parseDurationMs(text), text).toThrow(/is not a duration/);
    }
  });
});

describe('describeDuration', () => {
  it('names every unit exactly', () => {
    expect(describeDuration(HOUR)).toBe('1 hour');
    expect(describeDuration(90 * MINUTE)).toBe('1 hour 30 minutes');
    expect(describeDuration(2 * DAY + 30_000)).toBe('2 days 30 seconds');
    expect(describeDuration(500)).toBe('500 ms');
  });
});
