import type { CampaignService } from '../campaigns/service.ts';
import type { Clock } from '../clock.ts';
import { ValidationError } from '../errors.ts';
import { iso } from '../campaigns/view.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import { toCents } from './observe.ts';
import type { DayTotalsRow, StatsRepository } from './repository.ts';
import type { CampaignStatsQuery, CampaignStatsView, StatsSummaryQuery, StatsSummaryView, TotalsView } from './schemas.ts';

export interface StatsServiceDeps {
  campaigns: CampaignService;
  statsRepository: StatsRepository;
  clock: Clock;
}

const DEFAULT_SUMMARY_DAYS = 30;
const DAY_MS = 86_400_000;

const ratio = (part: number | null, whole: number | null): number | null =>
  whole === null || whole <= 0 || part === null ? null : Math.round((part / whole) * 10_000) / 10_000;

function parseRange(from: string | undefined, to: string | undefined, fallbackTo: number, fallbackSpanMs: number | null) {
  const toMs = to === undefined ? fallbackTo : Date.parse(to);
  const fromMs = from === undefined ? (fallbackSpanMs === null ? undefined : toMs - fallbackSpanMs) : Date.parse(from);
  if (fromMs !== undefined && fromMs > toMs) {
    throw new ValidationError('from must not be after to', [{ path: 'querystring/from', message: 'must not be after to' }]);
  }
  return { fromMs, toMs };
}

const emptyTotals = (): TotalsView & { revenueCents: number } => ({ campaignsSent: 0, messagesSent: 0, views: 0, purchases: 0, revenueEstimate: 0, revenueCents: 0 });

function addRow(into: ReturnType<typeof emptyTotals>, row: DayTotalsRow): void {
  into.campaignsSent += row.campaignsSent;
  into.messagesSent += row.messagesSent;
  into.views += row.views;
  into.purchases += row.purchases;
  into.revenueCents += row.revenueCents;
}

/** Cents are summed as integers and turned into dollars once, at the edge. */
function toView({ revenueCents, ...totals }: ReturnType<typeof emptyTotals>): TotalsView {
  return { ...totals, revenueEstimate: revenueCents / 100 };
}

/** Days in order, each with its totals. */
function byDay(rows: DayTotalsRow[]) {
  const days = new Map<string, ReturnType<typeof emptyTotals>>();
  for (const row of rows) {
    const day = days.get(row.day) ?? emptyTotals();
    addRow(day, row);
    days.set(row.day, day);
  }
  return [...days.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([date, totals]) => ({ date, ...toView(totals) }));
}

/** What the stats API offers: one campaign's outcome and history, and totals per connection and day. */
export function createStatsService(deps: StatsServiceDeps) {
  return {
    campaignStats(principal: Principal, id: string, query: CampaignStatsQuery): CampaignStatsView {
      const row = deps.campaigns.findAccessible(principal, id);
      const { fromMs, toMs } = parseRange(query.from, query.to, Number.MAX_SAFE_INTEGER, null);
      const rows = deps.statsRepository.snapshots(id, { from: fromMs, to: toMs, limit: query.limit + 1 });
      const hasMore = rows.length > query.limit;
      const priceCents = row.remotePrice ?? toCents(row.message.price);
      return {
        campaignId: row.id,
        status: row.status,
        list: row.remoteList,
        sentAt: iso(row.sentAt),
        observedAt: iso(row.statsObservedAt),
        remoteMissingSince: iso(row.remoteMissingAt),
        sentCount: row.sentCount,
        viewedCount: row.viewedCount,
        purchasedCount: row.purchasedCount,
        viewRate: ratio(row.viewedCount, row.sentCount),
        purchaseRate: ratio(row.purchasedCount, row.sentCount),
        price: priceCents / 100,
        priceSource: row.remotePrice === null ? 'campaign' : 'remote',
        revenueEstimate: ((row.purchasedCount ?? 0) * priceCents) / 100,
        snapshots: (hasMore ? rows.slice(0, query.limit) : rows).map((s) => ({
          observedAt: iso(s.observedAt)!,
          type: s.type,
          sentCount: s.sentCount,
          viewedCount: s.viewedCount,
          purchasedCount: s.purchasedCount,
        })),
        hasMore,
      };
    },

    summary(principal: Principal, query: StatsSummaryQuery): StatsSummaryView {
      const { fromMs, toMs } = parseRange(query.from, query.to, deps.clock.now(), DEFAULT_SUMMARY_DAYS * DAY_MS);
      const from = fromMs!;
      let scope = principal.connectionIds;
      if (query.connectionId !== undefined) scope = canAccessConnection(principal, query.connectionId) ? [query.connectionId] : [];
      const rows = scope?.length === 0 ? [] : deps.statsRepository.dayTotals({ from, to: toMs, connectionIds: scope });
      const known = scope?.length === 0 ? [] : deps.statsRepository.connectionRows(scope);

      // Listed: connections asked for by id or scope, connections the service knows, and any with sends.
      const ids = new Set<string>([...(scope ?? []), ...known.map((c) => c.id), ...rows.map((r) => r.connectionId)]);
      const knownById = new Map(known.map((c) => [c.id, c]));
      const overall = emptyTotals();
      for (const row of rows) addRow(overall, row);
      return {
        from: new Date(from).toISOString(),
        to: new Date(toMs).toISOString(),
        totals: toView(overall),
        days: byDay(rows),
        connections: [...ids].sort().map((connectionId) => {
          const own = rows.filter((r) => r.connectionId === connectionId);
          const totals = emptyTotals();
          for (const row of own) addRow(totals, row);
          const connection = knownById.get(connectionId);
          return {
            connectionId,
            untrackedMessages: connection?.untrackedCount ?? 0,
            statsPolledAt: iso(connection?.statsPolledAt ?? null),
            totals: toView(totals),
            days: byDay(own),
          };
        }),
      };
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
