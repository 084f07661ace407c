import type { EventLog } from '../campaigns/events.ts';
import type { CampaignRepository } from '../campaigns/repository.ts';
import type { CampaignService } from '../campaigns/service.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/client.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import { withSyncRecomputed } from './plan.ts';
import type { Reconciler } from './reconciler.ts';
import type { SyncRepository } from './repository.ts';

export interface SyncServiceDeps {
  db: Db;
  campaigns: CampaignService;
  repository: CampaignRepository;
  syncRepository: SyncRepository;
  events: EventLog;
  reconciler: Reconciler;
  clock: Clock;
  /** Tells the scheduler's status what it knows (running, backing off). */
  schedulerStatus?: () => Record<string, unknown>;
}

/** What the sync API offers: a forced attempt for one campaign, and the loop's status. */
export function createSyncService(deps: SyncServiceDeps) {
  return {
    /**
     * Makes a campaign due now (clearing its back-off and any "error" hold) and runs one pass for
     * it. If another pass holds its lease, that pass does the work and this returns the state now.
     */
    async syncNow(principal: Principal, id: string) {
      const row = deps.db.transaction(
        () => {
          const current = deps.campaigns.findAccessible(principal, id);
          const now = deps.clock.now();
          const changes = withSyncRecomputed(current, { nextAttemptAt: null, ...(current.syncState === 'error' ? { syncState: 'pending' as const } : {}) }, now);
          deps.events.append(id, 'sync_requested', principal.name, now);
          return deps.repository.update(id, changes);
        },
        { behavior: 'immediate' },
      );
      const connection = deps.syncRepository.findConnection(row.connectionId);
      if (connection?.pausedAt) deps.syncRepository.markProbed(row.connectionId, 0); // probe on this pass
      if (row.syncDueAt !== null) await deps.reconciler.reconcileOnce({ campaignId: id });
      return deps.campaigns.get(principal, id);
    },

    status(principal: Principal) {
      const now = deps.clock.now();
      const visible = (connectionId: string) => canAccessConnection(principal, connectionId);
      const last = deps.syncRepository.lastRun('sync');
      return {
        lastTick: last
          ? { startedAt: new Date(last.startedAt).toISOString(), durationMs: last.durationMs, summary: last.summary ?? null, error: last.error }
          : null,
        backlog: deps.syncRepository.dueByConnection(now).filter((b) => visible(b.connectionId)),
        inFlight: deps.syncRepository.inFlight(now),
        pausedConnections: deps.syncRepository
          .pausedConnections()
          .filter((c) => visible(c.id))
          .map((c) => ({ connectionId: c.id, since: new Date(c.pausedAt!).toISOString(), reason: c.pauseReason ?? '' })),
        scheduler: deps.schedulerStatus?.() ?? null,
      };
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;

