/**
 * IANA time zones through Intl (Node ships full ICU), for validating a zone when a series is
 * saved and for finding where its clocks change. The cron library does the scheduling; this
 * only tells the gap scan where to look and prints times for messages.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Why `name` is not a usable IANA zone, in words; null when it is. */
export function describeTimeZoneError(name: string): string | null {
  // Newer ICU builds accept "+01:00"; a fixed offset has no DST and hides the marketer's intent.
  if (/^[+-]\d/.test(name.trim())) return `"${name}" is a UTC offset; use a region name such as "Europe/Berlin"`;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return `"${name}" is not a known time zone; use an IANA name such as "Europe/Berlin" or "America/New_York"`;
  }
  // Intl accepts any capitalisation; storing one spelling keeps series comparable.
  if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) return `write the time zone as "${resolved}"`;
  return null;
}

/** The zone's UTC offset at `ms`, in minutes east of UTC. */
export function offsetMinutesAt(zone: string, ms: number): number {
  const name = partsOf(zone, ms).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /^GMT(?:([+-])(\d{2}):?(\d{2})?)?$/.exec(name);
  if (!match) throw new Error(`unexpected offset "${name}" for ${zone}`);
  if (!match[1]) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3] ?? 0);
  return match[1] === '-' ? -minutes : minutes;
}

/**
 * Instants in [fromMs, toMs] where the zone's offset changes, to the minute. Samples once a day,
 * so two changes within one day that cancel out would be missed; no zone does that.
 */
export function offsetChangesBetween(zone: string, fromMs: number, toMs: number): number[] {
  const changes: number[] = [];
  let before = fromMs;
  let beforeOffset = offsetMinutesAt(zone, before);
  while (before < toMs) {
    const after = Math.min(before + DAY_MS, toMs);
    const afterOffset = offsetMinutesAt(zone, after);
    if (afterOffset !== beforeOffset) changes.push(bisectChange(zone, before, after, beforeOffset));
    before = after;
    beforeOffset = afterOffset;
  }
  return changes;
}

function bisectChange(zone: string, low: number, high: number, lowOffset: number): number {
  while (high - low > 60_000) {
    const middle = low + Math.floor((high - low) / 2);
    if (offsetMinutesAt(zone, middle) === lowOffset) low = middle;
    else high = middle;
  }
  return high;
}

/** The local calendar date at `ms` in `zone`, as YYYY-MM-DD. */
export function localDate(ms: number, zone: string): string {
  const parts = fieldsOf(zone, ms);
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** The local date and time at `ms` in `zone`, as "YYYY-MM-DD HH:MM", for messages. */
export function formatLocal(ms: number, zone: string): string {
  const parts = fieldsOf(zone, ms);
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** The YYYY-MM-DD date one day after `date`. */
export function dayAfter(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

function fieldsOf(zone: string, ms: number): Record<'year' | 'month' | 'day' | 'hour' | 'minute', string> {
  const fields = { year: '', month: '', day: '', hour: '', minute: '' };
  for (const part of partsOf(zone, ms)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = part.value;
  }
  return fields;
}

function partsOf(zone: string, ms: number): Intl.DateTimeFormatPart[] {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', timeZoneName: 'longOffset',
    });
    formatters.set(zone, formatter);
  }
  return formatter.formatToParts(ms);
}
