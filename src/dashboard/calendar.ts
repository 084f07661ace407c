import type { SendStatus } from '../campaigns/model.ts';
import type { Principal } from '../tokens/service.ts';
import type { ProjectedOccurrence } from '../campaigns/projection.ts';
import type { SendService } from '../sends/service.ts';
import type { PlannedSend } from '../store/types.ts';
import { addDays, formatDay, formatMonth, localDay, localTime, weekdayIndex, zonedInstant } from './time.ts';

export type CalendarView = 'week' | 'month';

/** A send, or an occurrence of a running series not yet made into one ("planned"). */
export interface CalendarEntry extends Omit<PlannedSend, 'sendId' | 'status'> {
  sendId: string | null;
  status: CalendarStatus;
  time: string;
}

export type CalendarStatus = SendStatus | 'planned';

export interface CalendarDay {
  date: string;
  label: string;
  isToday: boolean;
  /** Month view: whether the day belongs to the month shown. */
  isInRange: boolean;
  entries: CalendarEntry[];
  /** Sends beyond those listed. */
  more: number;
  total: number;
  /** Per status, over every send of the day. */
  byStatus: Array<{ status: CalendarStatus; count: number }>;
}

export interface Calendar {
  view: CalendarView;
  title: string;
  anchor: string;
  previous: string;
  next: string;
  today: string;
  /** Week view: one row of seven; month view: whole weeks, Monday first. */
  weeks: CalendarDay[][];
}

/** Sends listed per day; the rest are counted ("+3 more"), so a busy month stays a light page. */
const LISTED_PER_DAY: Record<CalendarView, number> = { week: 12, month: 4 };
const STATUS_ORDER: CalendarStatus[] = ['planned', 'pending', 'queued', 'sending', 'sent', 'failed', 'canceled'];

/** The days a view shows around `anchor`: Monday to Sunday, or the month's whole weeks. */
function daysOf(view: CalendarView, anchor: string): { first: string; count: number; rangeStart: string; rangeEnd: string } {
  if (view === 'week') {
    const first = addDays(anchor, -weekdayIndex(anchor));
    return { first, count: 7, rangeStart: first, rangeEnd: addDays(first, 6) };
  }
  const monthStart = `${anchor.slice(0, 8)}01`;
  const nextMonth = new Date(Date.UTC(Number(anchor.slice(0, 4)), Number(anchor.slice(5, 7)), 1)).toISOString().slice(0, 10);
  const monthEnd = addDays(nextMonth, -1);
  const first = addDays(monthStart, -weekdayIndex(monthStart));
  const last = addDays(monthEnd, 6 - weekdayIndex(monthEnd));
  const count = Math.round((Date.parse(`${last}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / 86_400_000) + 1;
  return { first, count, rangeStart: monthStart, rangeEnd: monthEnd };
}

/**
 * The calendar of sends in the marketer's zone: each local day is its own window (so DST days
 * are 23 or 25 hours), read through the send service under the caller's scope.
 */
export async function buildCalendar(input: {
  sends: SendService;
  principal: Principal;
  view: CalendarView;
  anchor: string;
  zone: string;
  now: number;
  connectionId?: string;
}): Promise<Calendar> {
  const { view, anchor, zone } = input;
  const { first, count, rangeStart, rangeEnd } = daysOf(view, anchor);
  const today = localDay(input.now, zone);
  const dates = Array.from({ length: count }, (_, i) => addDays(first, i));
  const bounds = [...dates, addDays(first, count)].map((d) => zonedInstant(d, '00:00', zone)!);
  const limit = LISTED_PER_DAY[view];
  const projected = await input.sends.projected(input.principal, { from: bounds[0]!, to: bounds.at(-1)!, connectionId: input.connectionId });
  const days = await Promise.all(
    dates.map(async (date, i): Promise<CalendarDay> => {
      const planned = await input.sends.planned(input.principal, { from: bounds[i]!, to: bounds[i + 1]!, connectionId: input.connectionId, limit });
      const ahead = projected.filter((p) => p.plannedAt >= bounds[i]! && p.plannedAt < bounds[i + 1]!);
      const byStatus = new Map<CalendarStatus, number>();
      for (const c of planned.counts) byStatus.set(c.status, (byStatus.get(c.status) ?? 0) + c.count);
      if (ahead.length > 0) byStatus.set('planned', ahead.length);
      const total = [...byStatus.values()].reduce((a, b) => a + b, 0);
      const entries = [...planned.sends, ...ahead.map(asPlannedEntry)].sort((a, b) => a.plannedAt - b.plannedAt).slice(0, limit);
      return {
        date,
        label: formatDay(date, view === 'week' ? 'long' : 'short'),
        isToday: date === today,
        isInRange: date >= rangeStart && date <= rangeEnd,
        entries: entries.map((s) => ({ ...s, time: localTime(s.plannedAt, zone) })),
        more: total - entries.length,
        total,
        byStatus: STATUS_ORDER.filter((s) => byStatus.has(s)).map((status) => ({ status, count: byStatus.get(status)! })),
      };
    }),
  );
  const weeks: CalendarDay[][] = [];
  for (let i = 0; i < days.length; i += 7) weeks.push(days.slice(i, i + 7));
  const step = (n: number) => (view === 'week' ? addDays(anchor, 7 * n) : shiftMonth(anchor, n));
  return {
    view,
    title: view === 'week' ? `Week of ${formatDay(first)} ${first.slice(0, 4)}` : formatMonth(rangeStart),
    anchor,
    previous: step(-1),
    next: step(1),
    today,
    weeks,
  };
}

/** A series occurrence not yet a send, on the calendar beside the sends. */
function asPlannedEntry(p: ProjectedOccurrence): Omit<CalendarEntry, 'time'> {
  return { ...p, sendId: null, kind: 'occurrence', status: 'planned', sentAt: null };
}

function shiftMonth(day: string, n: number): string {
  const d = new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1 + n, 1));
  return d.toISOString().slice(0, 10);
}
