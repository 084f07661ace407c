import { sendStatuses, type SendStatus } from '../campaigns/model.ts';
import type { SeriesSummary } from './types.ts';

/** One group of a series' sends, as both stores select it: GROUP BY campaign and status. */
export interface SeriesSendGroup {
  campaignId: string;
  status: SendStatus;
  /** Sends in the group. */
  n: number;
  /** Of those, sends the poller has observed. */
  observed: number;
  sentCount: number;
  viewedCount: number;
  purchasedCount: number;
  observedAt: number | null;
}

const emptyCounts = (): Record<SendStatus, number> => Object.fromEntries(sendStatuses.map((s) => [s, 0])) as Record<SendStatus, number>;

/**
 * Folds the grouped rows into one summary per series among `ids`: counts by status, and counts
 * summed over the sends the poller has observed (null until it has observed one).
 */
export function foldSeriesSummaries(ids: string[], groups: SeriesSendGroup[]): Map<string, SeriesSummary> {
  const out = new Map<string, SeriesSummary>();
  for (const id of ids) out.set(id, { sendCounts: emptyCounts(), totals: null });
  for (const group of groups) {
    const summary = out.get(group.campaignId)!;
    summary.sendCounts[group.status] = group.n;
    if (group.observed > 0) {
      const t = summary.totals ?? { sentCount: 0, viewedCount: 0, purchasedCount: 0, observedAt: 0 };
      summary.totals = {
        sentCount: t.sentCount + group.sentCount,
        viewedCount: t.viewedCount + group.viewedCount,
        purchasedCount: t.purchasedCount + group.purchasedCount,
        observedAt: Math.max(t.observedAt, group.observedAt ?? 0),
      };
    }
  }
  return out;
}
