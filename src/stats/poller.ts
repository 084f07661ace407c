import { STATS_ACTOR, type EventLog } from '../campaigns/events.ts';
import type { CampaignRepository, CampaignRow } from '../campaigns/repository.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/client.ts';
import { forEachLimited } from '../concurrency.ts';
import type { Metrics } from '../metrics.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import { describeFailure } from '../sync/outcomes.ts';
import { withSyncRecomputed } from '../sync/plan.ts';
import { createStatsBudget, type BudgetSettings } from './budget.ts';
import { missingChanges, observe } from './observe.ts';
import { LIST_ORDER, PAGE_SIZE, isMissing, itemSortKey, listsFor, stopAfterPage, type Coverage, type StopReason } from './plan.ts';
import type { StatsRepository } from './repository.ts';

export interface StatsPollerSettings extends BudgetSettings {
  /** Sent campaigns are followed this many days after sending (STATS_TRACK_DAYS). */
  trackDays: number;
}

export interface StatsPollerDeps {
  db: Db;
  repository: CampaignRepository;
  statsRepository: StatsRepository;
  events: EventLog;
  client: OfauthClient;
  clock: Clock;
  settings: StatsPollerSettings;
  metrics?: Metrics;
  logger?: { warn(obj: object, msg?: string): void };
}

export interface StatsPollSummary {
  /** Connections with tracked campaigns that were polled. */
  connections: number;
  /** Stats pages requested. */
  requests: number;
  /** Tracked campaigns met in a list. */
  seen: number;
  /** Of those, campaigns whose status, list, counts or price changed. */
  changed: number;
  statusChanges: number;
  snapshots: number;
  /** Items no campaign owns, met this poll (each counted once per connection in connections.untracked_count). */
  untrackedSeen: number;
  /** Campaigns newly reported missing from every list they could be in. */
  missing: number;
  /** Connections whose poll stopped at its budget (or for sync); the next poll resumes there. */
  deferred: number;
  /** Of those, connections that stopped because sync work was due and the bucket was low. */
  yieldedToSync: number;
  /** Connections whose poll hit an OFAuth error (retried by the client already). */
  failed: number;
  durationMs: number;
}

/**
 * A poll cut short by the budget, resumed by the next one as the same logical poll: lists move
 * forward only (scheduled → unsent → sent), so what it saw and how far it read stay true, and a
 * campaign can still be proven missing however small the budget per cycle.
 */
interface Carry {
  type: StatsType;
  offset: number;
  fromTop: boolean;
  lowestKey: number;
  seen: Set<string>;
  coverage: Partial<Record<StatsType, Coverage>>;
}

const DAY_MS = 86_400_000;
/** Connections polled at once; each has its own rate-limit bucket. */
const MAX_PARALLEL_CONNECTIONS = 16;

const emptySummary = (): StatsPollSummary => ({
  connections: 0, requests: 0, seen: 0, changed: 0, statusChanges: 0, snapshots: 0, untrackedSeen: 0, missing: 0, deferred: 0, yieldedToSync: 0, failed: 0, durationMs: 0,
});

const remoteIdsOf = (item: StatsItem): string[] => (item.queueId === null || item.queueId === item.id ? [String(item.id)] : [String(item.id), String(item.queueId)]);

/**
 * The stats loop as a plain object: `pollOnce` pages each connection's stats lists (newest
 * first), matches items to the campaigns it tracks by remote id, records status, counts,
 * snapshots (on change only) and events, counts messages no campaign owns, and reports
 * campaigns whose remote copy vanished. Its budget and resume points live in memory: a restart
 * begins with a full budget and from the top of each list.
 */
export function createStatsPoller(deps: StatsPollerDeps) {
  const { db, repository, statsRepository, events, client, clock, settings } = deps;
  const budget = createStatsBudget(settings, clock);
  const trackMs = settings.trackDays * DAY_MS;
  const carries = new Map<string, Carry>();

  /** Applies one page in one synchronous transaction; returns whether it changed anything tracked. */
  function applyPage(connectionId: string, type: StatsType, items: StatsItem[], tracked: Map<string, CampaignRow>, seen: Set<string>, summary: StatsPollSummary): boolean {
    const now = clock.now();
    return db.transaction(
      () => {
        const owners = new Map(repository.findByRemoteIds(connectionId, [...new Set(items.flatMap(remoteIdsOf))]).map((row) => [row.remoteId!, row]));
        const untracked: Array<{ remoteId: string; type: StatsType }> = [];
        let changed = false;
        for (const item of items) {
          const row = remoteIdsOf(item).map((id) => owners.get(id)).find((r) => r !== undefined);
          if (row === undefined) {
            untracked.push({ remoteId: String(item.id), type });
            continue;
          }
          // Owned but not followed: sent before the window, or given its remote id mid-poll.
          if (!tracked.has(row.id)) continue;
          seen.add(row.id);
          summary.seen++;
          const observation = observe(row, type, item, now);
          const updated = repository.update(row.id, withSyncRecomputed(row, observation.changes, now));
          owners.set(updated.remoteId!, updated);
          for (const event of observation.events) {
            events.append(row.id, event.type, STATS_ACTOR, now, event.data);
            if (event.type === 'status_changed') summary.statusChanges++;
          }
          if (observation.snapshot) {
            statsRepository.insertSnapshot({ campaignId: row.id, observedAt: now, ...observation.snapshot });
            summary.snapshots++;
          }
          if (observation.isChange) {
            changed = true;
            summary.changed++;
          }
        }
        statsRepository.recordUntracked(connectionId, untracked, now);
        summary.untrackedSeen += untracked.length;
        return changed;
      },
      { behavior: 'immediate' },
    );
  }

  /** Reports tracked campaigns that every list they could be in was read past without meeting. */
  function flagMissing(tracked: CampaignRow[], seen: Set<string>, coverage: Partial<Record<StatsType, Coverage>>, summary: StatsPollSummary): void {
    const now = clock.now();
    for (const candidate of tracked) {
      if (seen.has(candidate.id) || !isMissing(candidate, coverage, now)) continue;
      db.transaction(
        () => {
          const fresh = repository.findById(candidate.id);
          // Re-checked on the row as it is now: the reconciler may have replaced or deleted the copy.
          if (!fresh || fresh.remoteId !== candidate.remoteId || fresh.remoteDeletedAt !== null || !isMissing(fresh, coverage, now)) return;
          const { changes, data } = missingChanges(fresh, now);
          repository.update(fresh.id, withSyncRecomputed(fresh, changes, now));
          events.append(fresh.id, 'remote_missing', STATS_ACTOR, now, data);
          summary.missing++;
        },
        { behavior: 'immediate' },
      );
    }
  }

  async function pollConnection(connectionId: string, summary: StatsPollSummary, signal?: AbortSignal): Promise<void> {
    const tracked = statsRepository.tracked(connectionId, clock.now() - trackMs);
    if (tracked.length === 0) {
      carries.delete(connectionId);
      return;
    }
    summary.connections++;
    const trackedById = new Map(tracked.map((row) => [row.id, row]));
    const carry = carries.get(connectionId);
    carries.delete(connectionId);
    const seen = new Set(carry?.seen ?? []);
    const coverage: Partial<Record<StatsType, Coverage>> = { ...carry?.coverage };
    let cut: { reason: 'budget' | 'sync' | 'aborted'; carry: Carry } | null = null;

    lists: for (const type of LIST_ORDER) {
      if (carry && LIST_ORDER.indexOf(type) < LIST_ORDER.indexOf(carry.type)) continue;
      // Only lists where a tracked campaign can be; e.g. no queued campaign, no scheduled list.
      const candidates = tracked.filter((c) => listsFor(c).includes(type));
      if (!candidates.some((c) => !seen.has(c.id))) continue;
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
            : statsRepository.hasSyncDue(connectionId, clock.now()) && budget.mustYieldToSync(client.availableTokens(connectionId))
              ? 'sync'
              : null;
        if (reason !== null) {
          cut = { reason, carry: { type, offset, fromTop, lowestKey, seen, coverage } };
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
        const pageChanged = applyPage(connectionId, type, page.list, trackedById, seen, summary);
        offset += page.list.length;
        for (const item of page.list) lowestKey = Math.min(lowestKey, itemSortKey(item));
        stop = stopAfterPage({
          hasMore: page.hasMore && page.list.length > 0,
          lowestKey,
          unseen: candidates.filter((c) => !seen.has(c.id)),
          pageChanged,
          now: clock.now(),
        });
        coverage[type] = { fromTop, below: stop === 'exhausted' ? Number.NEGATIVE_INFINITY : lowestKey };
      }
    }

    if (cut) {
      carries.set(connectionId, cut.carry);
      summary.deferred++;
      if (cut.reason === 'sync') summary.yieldedToSync++;
    }
    flagMissing(tracked, seen, coverage, summary);
    statsRepository.finishPoll(connectionId, clock.now());
  }

  return {
    /** Requests one poll may make per connection at most (budget × refill × cycle). */
    perCycle: budget.perCycle,

    /**
     * One poll of every connection with tracked campaigns (or only `connectionId`), in parallel.
     * `signal` stops paging; what was read is kept.
     */
    async pollOnce(options: { signal?: AbortSignal; connectionId?: string } = {}): Promise<StatsPollSummary> {
      const started = performance.now();
      const summary = emptySummary();
      const since = clock.now() - trackMs;
      const all = statsRepository.connectionsToPoll(since);
      const connectionIds = options.connectionId === undefined ? all : all.filter((id) => id === options.connectionId);
      await forEachLimited(connectionIds, MAX_PARALLEL_CONNECTIONS, (id) => pollConnection(id, summary, options.signal));
      summary.durationMs = Math.round(performance.now() - started);
      return summary;
    },
  };
}

export type StatsPoller = ReturnType<typeof createStatsPoller>;
