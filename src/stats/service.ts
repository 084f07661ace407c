import type { CampaignService } from '../campaigns/service.ts';
import { iso } from '../campaigns/view.ts';
import type { Clock } from '../clock.ts';
import { ValidationError } from '../errors.ts';
import type { Send } from '../sends/model.ts';
import type { CampaignRecord, DayTotalsRow, Snapshot, Store } from '../store/types.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import { toCents } from './observe.ts';
import { MAX_SERIES_SENDS, type CampaignStatsQuery, type CampaignStatsView, type SeriesSendStatsView, type StatsSummaryQuery, type StatsSummaryView, type TotalsView } from './schemas.ts';

export interface StatsServiceDeps {
  campaigns: CampaignService;
  store: Pick<Store, 'stats' | 'campaigns'>;
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

/** `campaignsSent` keeps its API name; it counts sends (a series adds one per occurrence). */
function addRow(into: ReturnType<typeof emptyTotals>, row: DayTotalsRow): void {
  into.campaignsSent += row.sendsSent;
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

/** Sends read per store call while summing a series. */
const SERIES_PAGE = 500;

const sendStatsView = (send: Send, cents: number): SeriesSendStatsView => ({
  id: send.id,
  kind: send.kind,
  occurrenceAt: iso(send.occurrenceAt),
  status: send.status,
  sentAt: iso(send.sentAt),
  sentCount: send.sentCount,
  viewedCount: send.viewedCount,
  purchasedCount: send.purchasedCount,
  revenueEstimate: cents / 100,
});

const toSnapshotView = (s: Snapshot) => ({ observedAt: iso(s.observedAt)!, type: s.type, sentCount: s.sentCount, viewedCount: s.viewedCount, purchasedCount: s.purchasedCount });

/** What the stats API offers: one campaign's outcome and history, and totals per connection and day. */
export function createStatsService(deps: StatsServiceDeps) {
  const { store } = deps;

  async function snapshotsOf(of: { campaignId: string } | { sendId: string }, query: CampaignStatsQuery) {
    const { fromMs, toMs } = parseRange(query.from, query.to, Number.MAX_SAFE_INTEGER, null);
    const rows = await store.stats.snapshots({ ...of, from: fromMs, to: toMs, limit: query.limit + 1 });
    const hasMore = rows.length > query.limit;
    return { rows: hasMore ? rows.slice(0, query.limit) : rows, hasMore };
  }

  /** A one-shot campaign: its one send's outcome (none yet for a draft), as before sends existed. */
  async function oneShotStats({ campaign, send }: CampaignRecord, query: CampaignStatsQuery): Promise<CampaignStatsView> {
    // The send's own history: a follow-up's snapshots are its own (listed under followUps).
    const { rows, hasMore } = await snapshotsOf(send ? { sendId: send.id } : { campaignId: campaign.id }, query);
    const followUps = campaign.followUps === null ? [] : await followUpStats(campaign.id);
    const remotePrice = send?.remotePrice ?? null;
    const priceCents = remotePrice ?? toCents(campaign.message.price);
    const sentCount = send?.sentCount ?? null;
    const viewedCount = send?.viewedCount ?? null;
    const purchasedCount = send?.purchasedCount ?? null;
    return {
      campaignId: campaign.id,
      status: campaign.status,
      list: send?.remoteList ?? null,
      sentAt: iso(send?.sentAt ?? null),
      observedAt: iso(send?.statsObservedAt ?? null),
      remoteMissingSince: iso(send?.remoteMissingAt ?? null),
      sentCount,
      viewedCount,
      purchasedCount,
      viewRate: ratio(viewedCount, sentCount),
      purchaseRate: ratio(purchasedCount, sentCount),
      price: priceCents / 100,
      priceSource: remotePrice === null ? 'campaign' : 'remote',
      revenueEstimate: ((purchasedCount ?? 0) * priceCents) / 100,
      snapshots: rows.map(toSnapshotView),
      hasMore,
      ...(followUps.length > 0 ? { followUps } : {}),
    };
  }

  /** A one-shot's follow-ups, each with its own outcome (what the second message earned). */
  async function followUpStats(campaignId: string): Promise<SeriesSendStatsView[]> {
    const all = await store.campaigns.listSends(campaignId, { limit: 100 });
    return all.filter((s) => s.kind === 'follow_up').map((send) => sendStatsView(send, (send.purchasedCount ?? 0) * (send.remotePrice ?? toCents(send.followUp?.message.price ?? 0))));
  }

  /**
   * A series: the sums over every send observed so far (each send's revenue at its own price),
   * the newest MAX_SERIES_SENDS sends one by one, and the snapshots of all of them.
   */
  async function seriesStats({ campaign }: CampaignRecord, query: CampaignStatsQuery): Promise<CampaignStatsView> {
    const campaignCents = toCents(campaign.message.price);
    const sends: SeriesSendStatsView[] = [];
    const sums = { observed: 0, sentCount: 0, viewedCount: 0, purchasedCount: 0, revenueCents: 0 };
    const latest = { sentAt: null as number | null, observedAt: null as number | null, missingSince: null as number | null };
    const add = (send: Send) => {
      // A test send is a preview to one fan, never part of the series' results.
      if (send.kind === 'test') return;
      const cents = (send.purchasedCount ?? 0) * (send.remotePrice ?? send.followUp?.message.price ?? campaignCents);
      // A follow-up is listed with its own outcome but not summed: the sums are the series' own sends'.
      if (send.kind === 'follow_up') {
        if (sends.length < MAX_SERIES_SENDS) sends.push(sendStatsView(send, cents));
        return;
      }
      sums.revenueCents += cents;
      if (send.statsObservedAt !== null) {
        sums.observed++;
        sums.sentCount += send.sentCount ?? 0;
        sums.viewedCount += send.viewedCount ?? 0;
        sums.purchasedCount += send.purchasedCount ?? 0;
        latest.observedAt = Math.max(latest.observedAt ?? send.statsObservedAt, send.statsObservedAt);
      }
      if (send.sentAt !== null) latest.sentAt = Math.max(latest.sentAt ?? send.sentAt, send.sentAt);
      if (send.remoteMissingAt !== null) latest.missingSince = Math.min(latest.missingSince ?? send.remoteMissingAt, send.remoteMissingAt);
      if (sends.length === MAX_SERIES_SENDS) return;
      sends.push(sendStatsView(send, cents));
    };
    // Keyset pages, newest first: every send is summed, only the newest MAX_SERIES_SENDS listed.
    let total = 0;
    for (let beforeId: string | undefined; ; ) {
      const page = await store.campaigns.listSends(campaign.id, { beforeId, limit: SERIES_PAGE });
      page.forEach(add);
      total += page.length;
      if (page.length < SERIES_PAGE) break;
      beforeId = page.at(-1)!.id;
    }
    const { rows, hasMore } = await snapshotsOf({ campaignId: campaign.id }, query);
    const counted = (n: number) => (sums.observed === 0 ? null : n);
    return {
      campaignId: campaign.id,
      status: campaign.status,
      list: null,
      sentAt: iso(latest.sentAt),
      observedAt: iso(latest.observedAt),
      remoteMissingSince: iso(latest.missingSince),
      sentCount: counted(sums.sentCount),
      viewedCount: counted(sums.viewedCount),
      purchasedCount: counted(sums.purchasedCount),
      viewRate: ratio(counted(sums.viewedCount), counted(sums.sentCount)),
      purchaseRate: ratio(counted(sums.purchasedCount), counted(sums.sentCount)),
      price: campaignCents / 100,
      priceSource: 'campaign',
      revenueEstimate: sums.revenueCents / 100,
      snapshots: rows.map((s) => (s.sendId === null ? toSnapshotView(s) : { ...toSnapshotView(s), sendId: s.sendId })),
      hasMore,
      sends,
      sendsHasMore: total > MAX_SERIES_SENDS,
    };
  }

  return {
    /** One campaign's outcome: a one-shot's send, or a series' sums and its sends. 404 for one the caller may not see. */
    async campaignStats(principal: Principal, campaignId: string, query: CampaignStatsQuery): Promise<CampaignStatsView> {
      const record = await deps.campaigns.findAccessible(principal, campaignId);
      return record.campaign.recurrence === null ? oneShotStats(record, query) : seriesStats(record, query);
    },

    /** Totals of sends sent in a period, per connection and UTC day, within the caller's connections. */
    async summary(principal: Principal, query: StatsSummaryQuery): Promise<StatsSummaryView> {
      const { fromMs, toMs } = parseRange(query.from, query.to, deps.clock.now(), DEFAULT_SUMMARY_DAYS * DAY_MS);
      const from = fromMs!;
      let scope = principal.connectionIds;
      if (query.connectionId !== undefined) scope = canAccessConnection(principal, query.connectionId) ? [query.connectionId] : [];
      const rows = scope?.length === 0 ? [] : await store.stats.dayTotals({ from, to: toMs, connectionIds: scope });
      const known = scope?.length === 0 ? [] : await store.stats.connectionRows(scope);

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
