import { describe, expect, it } from 'vitest';
import { projectOccurrences, projectSeries } from '../../src/campaigns/projection.ts';
import { campaignAt, DAILY_NOON, DAY, HOUR, T0 } from '../store/fixtures.ts';

const noonOn = (day: number) => T0 + day * DAY;
const series = (overrides: Parameters<typeof campaignAt>[1] = {}) =>
  campaignAt(T0, { recurrence: DAILY_NOON, scheduledAt: null, nextOccurrenceAt: noonOn(1), occurrenceCount: 0, ...overrides });

describe('projecting a series onto the calendar', () => {
  it('starts at its next occurrence (earlier ones are sends already) and keeps to the window', () => {
    expect(projectOccurrences(series(), { from: T0, to: noonOn(4) }, 10)).toEqual([noonOn(1), noonOn(2), noonOn(3)]);
    // A window further out starts there, without walking from the next occurrence.
    expect(projectOccurrences(series(), { from: noonOn(300), to: noonOn(302) + 1 }, 10)).toEqual([noonOn(300), noonOn(301), noonOn(302)]);
    expect(projectOccurrences(series(), { from: T0, to: noonOn(9) }, 2)).toEqual([noonOn(1), noonOn(2)]);
  });

  it('counts what is left of maxOccurrences from the next occurrence, windows further out included', () => {
    const fiveMore = series({ recurrence: { ...DAILY_NOON, maxOccurrences: 7 }, occurrenceCount: 2 });
    expect(projectOccurrences(fiveMore, { from: T0, to: noonOn(30) }, 100)).toEqual([1, 2, 3, 4, 5].map(noonOn));
    expect(projectOccurrences(fiveMore, { from: noonOn(4), to: noonOn(30) }, 100)).toEqual([noonOn(4), noonOn(5)]);
    expect(projectOccurrences(fiveMore, { from: noonOn(6), to: noonOn(30) }, 100)).toEqual([]);
    expect(projectOccurrences(series({ recurrence: { ...DAILY_NOON, maxOccurrences: 2 }, occurrenceCount: 2 }), { from: T0, to: noonOn(9) }, 10)).toEqual([]);
  });

  it('stops at the end date, and shows nothing for a series that is not running', () => {
    expect(projectOccurrences(series({ recurrence: { ...DAILY_NOON, endsAt: noonOn(2) + HOUR } }), { from: T0, to: noonOn(9) }, 10)).toEqual([noonOn(1), noonOn(2)]);
    for (const status of ['paused', 'canceled', 'completed', 'draft'] as const) {
      expect(projectOccurrences(series({ status }), { from: T0, to: noonOn(9) }, 10)).toEqual([]);
    }
    expect(projectOccurrences(series({ nextOccurrenceAt: null }), { from: T0, to: noonOn(9) }, 10)).toEqual([]);
    expect(projectOccurrences(campaignAt(T0), { from: T0, to: noonOn(9) }, 10)).toEqual([]);
  });

  it('merges several series earliest first, each with its campaign', () => {
    const a = series({ id: 'cmp_a', name: 'A', nextOccurrenceAt: noonOn(2) });
    const b = series({ id: 'cmp_b', name: 'B', connectionId: 'conn_b' });
    expect(projectSeries([a, b], { from: T0, to: noonOn(3) }, 10)).toEqual([
      { campaignId: 'cmp_b', campaignName: 'B', connectionId: 'conn_b', plannedAt: noonOn(1) },
      { campaignId: 'cmp_a', campaignName: 'A', connectionId: a.connectionId, plannedAt: noonOn(2) },
      { campaignId: 'cmp_b', campaignName: 'B', connectionId: 'conn_b', plannedAt: noonOn(2) },
    ]);
  });
});
