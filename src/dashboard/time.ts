import { offsetMinutesAt } from '../campaigns/time-zone.ts';

/*
 * Wall-clock time in the marketer's zone. The dashboard shows and takes times in the zone the
 * session chose; everything below it stays epoch milliseconds in UTC.
 */

const DAY_MS = 86_400_000;

/** The instant at which the zone's clocks read `date` (YYYY-MM-DD) and `time` (HH:MM); null if either is malformed. */
export function zonedInstant(date: string, time: string, zone: string): number | null {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(time);
  if (!d || !t) return null;
  const wall = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]), Number(t[3] ?? 0));
  if (Number.isNaN(wall)) return null;
  // The offset at the guess, then at the corrected instant: right on both sides of a DST change
  // (a wall time inside a spring-forward gap lands just after it).
  let instant = wall - offsetMinutesAt(zone, wall) * 60_000;
  instant = wall - offsetMinutesAt(zone, instant) * 60_000;
  return instant;
}

/** `datetime-local` input value (YYYY-MM-DDTHH:MM) in `zone` → instant; null if malformed. */
export function parseLocalDateTime(value: string, zone: string): number | null {
  const [date, time] = value.split('T');
  return date && time ? zonedInstant(date, time, zone) : null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(zone: string, key: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const id = `${zone}|${key}`;
  let f = formatters.get(id);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, ...options });
    formatters.set(id, f);
  }
  return f;
}

function parts(ms: number, zone: string): Record<string, string> {
  const out: Record<string, string> = {};
  const f = formatter(zone, 'parts', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', weekday: 'short' });
  for (const p of f.formatToParts(ms)) out[p.type] = p.value;
  return out;
}

/** YYYY-MM-DD in the zone. */
export function localDay(ms: number, zone: string): string {
  const p = parts(ms, zone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** `datetime-local` value for an instant in the zone. */
export function toLocalInput(ms: number | null, zone: string): string {
  if (ms === null) return '';
  const p = parts(ms, zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** HH:MM in the zone. */
export function localTime(ms: number, zone: string): string {
  const p = parts(ms, zone);
  return `${p.hour}:${p.minute}`;
}

/** "Fri 3 Jan 2030, 18:00" in the zone; "–" for null. */
export function formatWhen(ms: number | null, zone: string): string {
  if (ms === null) return '–';
  return formatter(zone, 'when', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(ms);
}

/** "Friday 3 January" for a YYYY-MM-DD day. */
export function formatDay(day: string, style: 'long' | 'short' = 'long'): string {
  const options: Intl.DateTimeFormatOptions = style === 'long' ? { weekday: 'long', day: 'numeric', month: 'long' } : { weekday: 'short', day: 'numeric' };
  return formatter('UTC', `day-${style}`, options).format(Date.parse(`${day}T12:00:00Z`));
}

export function formatMonth(day: string): string {
  return formatter('UTC', 'month', { month: 'long', year: 'numeric' }).format(Date.parse(`${day}T12:00:00Z`));
}

/** The YYYY-MM-DD `n` days after `day` (calendar arithmetic, no zone involved). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Monday = 0 … Sunday = 6. */
export function weekdayIndex(day: string): number {
  return (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7;
}

export function isDay(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
}

/** Every IANA zone this Node knows, for the pickers. */
export const timeZones: readonly string[] = (() => {
  const zones = Intl.supportedValuesOf('timeZone');
  return zones.includes('UTC') ? zones : ['UTC', ...zones];
})();
