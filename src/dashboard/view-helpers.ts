import type { CampaignView } from '../campaigns/schemas.ts';
import { formatWhen } from './time.ts';

/** Formatting the templates share; times always in the session's zone. */
export function viewHelpers(zone: string) {
  const toMs = (value: string | number | null | undefined): number | null =>
    value === null || value === undefined ? null : typeof value === 'number' ? value : Date.parse(value);
  return {
    zone,
    when: (value: string | number | null | undefined) => formatWhen(toMs(value), zone),
    /** ISO-8601 for <time datetime>. */
    iso: (value: string | number | null | undefined) => {
      const ms = toMs(value);
      return ms === null ? '' : new Date(ms).toISOString();
    },
    num: (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US')),
    money: (dollars: number | null | undefined) =>
      dollars === null || dollars === undefined ? '–' : `$${dollars.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`,
    pct: (ratio: number | null | undefined) => (ratio === null || ratio === undefined ? '–' : `${(ratio * 100).toFixed(1)}%`),
    /** JSON safe inside <script type="application/json">: no "</script>" can close it early. */
    json: (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c'),
  };
}

export type ViewHelpers = ReturnType<typeof viewHelpers>;

/** What the list and the page show as "next send": a one-shot's time until it went, a series' next occurrence. */
export function nextSendOf(c: CampaignView): string | null {
  if (c.recurrence) return c.status === 'scheduled' ? (c.nextOccurrenceAt ?? null) : null;
  return ['draft', 'scheduled', 'queued'].includes(c.status) ? c.scheduledAt : null;
}

/** Revenue as the list shows it: purchases × the campaign's price (the campaign page has the per-send figure). */
export function listRevenue(c: CampaignView): number | null {
  if (!c.stats || c.stats.purchasedCount === null) return null;
  return Math.round(c.stats.purchasedCount * c.message.price * 100) / 100;
}
