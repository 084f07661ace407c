import type { Clock } from '../clock.ts';
import { forEachLimited } from '../concurrency.ts';
import type { ConnectionLeases } from '../instances/connection-leases.ts';
import type { Metrics } from '../metrics.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import type { StatsType } from '../ofauth/schemas.ts';
import type { Store } from '../store/types.ts';
import { describeFailure } from '../sync/outcomes.ts';
import { createStatsBudget, type BudgetSettings } from './budget.ts';
import { missingChanges, observe } from './observe.ts';
import { LIST_ORDER, PAGE_SIZE, isMissing, itemSortKey, stopAfterPage, type Coverage, type StopReason } from './plan.ts';
import { decodeCarry, encodeCarry, type Carry } from './poll-state.ts';
import { loadTracked, type TrackedIndex } from './tracked.ts';

export interface StatsPollerSettings extends BudgetSettings {
  /** Sent sends are followed this many days after sending (STATS_TRACK_DAYS). */
  trackDays: number;
}

export interface StatsPollerDeps {
  store: Pick<Store, 'stats'>;
  client: OfauthClient;
  clock: Clock;
  settings: StatsPollerSettings;
  metrics?: Metrics;
  logger?: { warn(obj: object, msg?: string): void };
  /** When given, only connections this instance holds are polled (several instances, one database). */
  leases?: Pick<ConnectionLeases, 'refresh' | 'whileHeld'>;
}

export interface StatsPollSummary {
  /** Connections with tracked sends that were polled. */
  connections: number;
  /** Stats pages requested. */
  requests: number;
  /** Tracked sends met in a list. */
  seen: number;
  /** Of those, sends whose status, list, counts or price changed. */
  changed: number;
  statusChanges: number;
  snapshots: number;
  /** Items no send owns, met this poll (each counted once per connection in connections.untracked_count). */
  untrackedSeen: number;
  /** Sends newly reported missing from every list they could be in. */
  missing: number;
  /** Connections whose poll stopped at its budget (or for sync); the next poll resumes there. */
  deferred: number;
  /** Of those, connections that stopped because sync work was due and the bucket was low. */
  yieldedToSync: number;
  /** Connections whose poll hit an OFAuth error (retried by the client already). */
  failed: number;
  durationMs: number;
}

const DAY_MS = 86_400_000;
/** Connections polled at once; each has its own rate-limit bucket. */
const MAX_PARALLEL_CONNECTIONS = 16;

const emptySummary = (): StatsPollSummary => ({
  connections: 0, requests: 0, seen: 0, changed: 0, statusChanges: 0, snapshots: 0, untrackedSeen: 0, missing: 0, deferred: 0, yieldedToSync: 0, failed: 0, durationMs: 0,
});

/**
 * The stats loop as a plain object: `pollOnce` pages each connection's stats lists (newest
 * first), has the store match items to the sends it tracks by remote id and record status,
 * counts, snapshots (on change only) and events, counts messages no send owns, and reports sends
 * whose remote copy vanished. Its budget and resume point per connection are saved in the
 * database after each connection's poll, so a restart, or another instance taking the
 * connection over, continues a cut-short poll with the budget that is left.
 */
export function createStatsPoller(deps: StatsPollerDeps) {
  const { store, client, clock, settings } = deps;
  const budget = createStatsBudget(settings, clock);
  const trackMs = settings.trackDays * DAY_MS;
  // Loading is synchronous SQLite work on the one thread, so loading connections side by side
  // gains nothing; one at a time, only one page of row objects is alive rather than one per
  // connection in flight (which lives long enough to be promoted to the old generation).
  let loading: Promise<unknown> = Promise.resolve();
  function loadSerially(connectionId: string, seenBefore: readonly string[] | undefined): Promise<TrackedIndex> {
    const load = loading.then(() => loadTracked(store.stats, connectionId, clock.now() - trackMs, { seenBefore }));
    loading = load.catch(() => undefined);
    return load;
  }

  /** Reports tracked sends that every list they could be in was read past without meeting. */
  async function flagMissing(tracked: TrackedIndex, coverage: Partial<Record<StatsType, Coverage>>, summary: StatsPollSummary): Promise<void> {
    // Every send can still be in the sent list: until it was read from the top, nothing is missing.
    if (!coverage.sent?.fromTop) return;
    const now = clock.now();
    for (let i = 0; i < tracked.size; i++) {
      if (tracked.isSeen(i) || !isMissing(tracked.facts(i), coverage, now)) continue;
      const remoteId = tracked.remoteId(i);
      const flagged = await store.stats.flagMissing(tracked.id(i), now, (fresh) =>
        // Re-checked on the row as it is now: the reconciler may have replaced or deleted the copy.
        fresh.remoteId !== remoteId || fresh.remoteDeletedAt !== null || !isMissing(fresh, coverage, now) ? null : missingChanges(fresh, now),
      );
      if (flagged) summary.missing++;
    }
  }

  async function pollConnection(connectionId: string, summary: StatsPollSummary, signal?: AbortSignal): Promise<void> {
    const saved = await store.stats.pollState(connectionId);
    if (saved) budget.restore(connectionId, saved);
    const carry = decodeCarry(saved?.carry);
    const tracked = await loadSerially(connectionId, carry?.seenIds);
    if (tracked.size === 0) return;
    summary.connections++;
    const coverage: Partial<Record<StatsType, Coverage>> = { ...carry?.coverage };
    const isTracked = (sendId: string) => tracked.indexOf(sendId) >= 0;
    let cut: { reason: 'budget' | 'sync' | 'aborted'; carry: Carry } | null = null;

    lists: for (const type of LIST_ORDER) {
      if (carry && LIST_ORDER.indexOf(type) < LIST_ORDER.indexOf(carry.type)) continue;
      // Only lists where a tracked send can be; e.g. no queued send, no scheduled list.
      if (tracked.unseen(type).count === 0) continue;
      const resumed = carry?.type === type ? carry : null;
      let offset = resumed?.offset ?? 0;
      const fromTop = resumed?.fromTop ?? true;
      let lowestKey = resumed?.lowestKey ?? Number.POSITIVE_INFINITY;
      let stop: StopReason = null;
      while (stop === null) {
        const reason = signal?.aborted
          ? 'aborted'
          : budget.remaining(connectionId) < 1
            ? 'budget'
            : (await store.stats.hasSyncDue(connectionId, clock.now())) && budget.mustYieldToSync(client.availableTokens(connectionId))
              ? 'sync'
              : null;
        if (reason !== null) {
          cut = { reason, carry: { type, offset, fromTop, lowestKey, seenIds: tracked.seenIds(), coverage } };
          break lists;
        }
        budget.spend(connectionId);
        summary.requests++;
        deps.metrics?.statsRequests.inc({ connection: connectionId });
        let page;
        try {
          page = await client.listMassMessages(connectionId, { type, limit: PAGE_SIZE, offset }, { signal });
        } catch (error) {
          // Start a fresh poll from the top next time; what was read is recorded and stays true.
          summary.failed++;
          deps.logger?.warn({ connectionId, list: type, offset, ...describeFailure(error).data }, 'stats page failed; connection skipped until the next poll');
          break lists;
        }
        const now = clock.now();
        const applied = await store.stats.applyPage({ connectionId, type, items: page.list, now, isTracked, observe: (send, item) => observe(send, type, item, now) });
        for (const sendId of applied.seen) tracked.markSeen(tracked.indexOf(sendId));
        summary.seen += applied.seen.length;
        summary.changed += applied.changed;
        summary.statusChanges += applied.statusChanges;
        summary.snapshots += applied.snapshots;
        summary.untrackedSeen += applied.untracked;
        offset += page.list.length;
        for (const item of page.list) lowestKey = Math.min(lowestKey, itemSortKey(item));
        stop = stopAfterPage({
          hasMore: page.hasMore && page.list.length > 0,
          lowestKey,
          unseen: tracked.unseen(type),
          pageChanged: applied.changed > 0,
          now: clock.now(),
        });
        coverage[type] = { fromTop, below: stop === 'exhausted' ? Number.NEGATIVE_INFINITY : lowestKey };
      }
    }

    await store.stats.savePollState(connectionId, { carry: cut ? encodeCarry(cut.carry) : null, ...budget.snapshot(connectionId) });
    if (cut) {
      summary.deferred++;
      if (cut.reason === 'sync') summary.yieldedToSync++;
    }
    await flagMissing(tracked, coverage, summary);
    await store.stats.finishPoll(connectionId, clock.now());
  }

  return {
    /** Requests one poll may make per connection at most (budget × refill × cycle). */
    perCycle: budget.perCycle,

    /**
     * One poll of every connection with tracked sends (or only `connectionId`), in parallel.
     * `signal` stops paging; what was read is kept.
     */
    async pollOnce(options: { signal?: AbortSignal; connectionId?: string } = {}): Promise<StatsPollSummary> {
      const started = performance.now();
      const summary = emptySummary();
      const since = clock.now() - trackMs;
      const all = await store.stats.connectionsToPoll(since);
      const connectionIds = options.connectionId === undefined ? all : all.filter((id) => id === options.connectionId);
      const { leases } = deps;
      if (leases) await leases.refresh(all);
      await forEachLimited(connectionIds, MAX_PARALLEL_CONNECTIONS, async (id) => {
        const poll = () => pollConnection(id, summary, options.signal);
        await (leases ? leases.whileHeld(id, poll) : poll());
      });
      summary.durationMs = Math.round(performance.now() - started);
      return summary;
    },
  };
}

export type StatsPoller = ReturnType<typeof createStatsPoller>;
