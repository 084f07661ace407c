import type { CampaignService } from '../campaigns/service.ts';
import type { CampaignView } from '../campaigns/schemas.ts';
import type { Clock } from '../clock.ts';
import type { Run, Store } from '../store/types.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import type { ReconcileOptions, Reconciler } from './reconciler.ts';

export interface SyncServiceDeps {
  campaigns: CampaignService;
  store: Pick<Store, 'sends' | 'connections' | 'runs' | 'instances'>;
  reconciler: Reconciler;
  /**
   * The pass a forced sync runs: the full tick (series materialised, then reconciled) when the
   * composition root has one, the reconciler's pass otherwise.
   */
  syncOnce?: (options: ReconcileOptions) => Promise<unknown>;
  clock: Clock;
  /** Tells the scheduler's status what it knows (running, backing off). */
  schedulerStatus?: () => Record<string, unknown>;
  /** An instance is live while its last heartbeat is younger than this (the connection lease's length). */
  instanceTtlMs: number;
}

const toRunView = (run: Run | null) =>
  run ? { startedAt: new Date(run.startedAt).toISOString(), durationMs: run.durationMs, summary: run.summary ?? null, error: run.error } : null;

/** What the sync API offers: a forced attempt for one campaign, and the loops' status. */
export function createSyncService(deps: SyncServiceDeps) {
  const { sends, connections, runs, instances } = deps.store;
  const runPass = deps.syncOnce ?? ((options: ReconcileOptions) => deps.reconciler.reconcileOnce(options));

  return {
    /**
     * Makes a campaign's sends due now (clearing their back-off and any "error" hold) and runs one
     * pass for them. If another pass holds a send's lease, that pass does the work and this
     * returns the state now.
     */
    async syncNow(principal: Principal, id: string): Promise<CampaignView> {
      // The campaign service checks access and writes through the store's mutate, with a
      // sync_requested event, in one transaction.
      const record = await deps.campaigns.requestSync(principal, id);
      const { connectionId } = record.campaign;
      const connection = await connections.find(connectionId);
      if (connection?.pausedAt) await connections.markProbed(connectionId, 0); // probe on this pass
      // A one-shot says whether anything is due; a series may have sends (or an occurrence) to make.
      const isDue = record.send ? record.send.syncDueAt !== null : record.campaign.recurrence !== null;
      if (isDue) await runPass({ campaignId: id });
      return deps.campaigns.get(principal, id);
    },

    async status(principal: Principal) {
      const now = deps.clock.now();
      const visible = (connectionId: string) => canAccessConnection(principal, connectionId);
      const [lastSync, lastStats, backlog, inFlight, paused, live] = await Promise.all([
        runs.last('sync'),
        runs.last('stats'),
        sends.dueByConnection(now),
        sends.inFlight(now),
        connections.paused(),
        instances.live(now - deps.instanceTtlMs, now),
      ]);
      return {
        lastTick: toRunView(lastSync),
        lastStatsRun: toRunView(lastStats),
        backlog: backlog.filter((b) => visible(b.connectionId)),
        inFlight,
        pausedConnections: paused
          .filter((c) => visible(c.id))
          .map((c) => ({ connectionId: c.id, since: new Date(c.pausedAt!).toISOString(), reason: c.pauseReason ?? '' })),
        scheduler: deps.schedulerStatus?.() ?? null,
        instances: live.map((i) => ({
          id: i.id,
          host: i.host,
          startedAt: new Date(i.startedAt).toISOString(),
          lastHeartbeatAt: new Date(i.heartbeatAt).toISOString(),
          connectionsHeld: i.connectionsHeld,
        })),
      };
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;
