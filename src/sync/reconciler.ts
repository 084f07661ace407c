import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { EventLog } from '../campaigns/events.ts';
import type { CampaignRepository, CampaignRow } from '../campaigns/repository.ts';
import type { Clock } from '../clock.ts';
import type { Db } from '../db/client.ts';
import { forEachLimited } from '../concurrency.ts';
import type { Metrics } from '../metrics.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import { isOfauthError } from '../ofauth/errors.ts';
import { describeFailure } from './outcomes.ts';
import { performAction, type OperationDeps, type Outcome } from './operations.ts';
import { planSync, type PlanSettings } from './plan.ts';
import type { SyncRepository } from './repository.ts';

export interface SyncSettings extends PlanSettings {
  /** Campaigns leased per claim on one connection. */
  batch: number;
  leaseMs: number;
}

export interface ReconcilerDeps {
  db: Db;
  repository: CampaignRepository;
  syncRepository: SyncRepository;
  events: EventLog;
  client: OfauthClient;
  clock: Clock;
  settings: SyncSettings;
  /** Lease owner id; unique per process. */
  owner?: string;
  random?: () => number;
  metrics?: Metrics;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

export interface ReconcileSummary {
  connections: number;
  /** Campaign steps performed (a campaign created then updated in one pass counts twice). */
  claimed: number;
  created: number;
  updated: number;
  deleted: number;
  adopted: number;
  failed: number;
  retried: number;
  ambiguous: number;
  paused: number;
  takeovers: number;
  durationMs: number;
}

/** A paused connection is probed with one harmless read this often. */
export const PROBE_INTERVAL_MS = 60_000;
/** How many connections are worked at once; each has its own rate-limit bucket. */
const MAX_PARALLEL_CONNECTIONS = 64;
/** A campaign is handled at most this often in one tick, so a bug can never spin a tick forever. */
const MAX_STEPS_PER_CAMPAIGN = 4;

const emptySummary = (): ReconcileSummary => ({
  connections: 0, claimed: 0, created: 0, updated: 0, deleted: 0, adopted: 0, failed: 0, retried: 0, ambiguous: 0, paused: 0, takeovers: 0, durationMs: 0,
});

const OUTCOME_FIELD: Partial<Record<Outcome, keyof ReconcileSummary>> = {
  created: 'created', updated: 'updated', deleted: 'deleted', adopted: 'adopted', failed: 'failed', retry: 'retried', ambiguous: 'ambiguous', paused: 'paused',
};

/**
 * The sync loop as a plain, directly callable object: `reconcileOnce` claims due campaigns per
 * connection under a lease, performs what each needs against OFAuth, records the outcome, and
 * returns a summary. Running it twice, or in two processes on one database, converges.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const random = deps.random ?? Math.random;
  const operationDeps: OperationDeps = {
    db: deps.db,
    repository: deps.repository,
    events: deps.events,
    owner,
    client: deps.client,
    syncRepository: deps.syncRepository,
    clock: deps.clock,
    random,
    leaseMs: deps.settings.leaseMs,
    settleMs: deps.settings.settleMs,
  };

  /** One harmless read on a paused connection; success resumes it. */
  async function probe(connectionId: string, signal?: AbortSignal): Promise<boolean> {
    const now = deps.clock.now();
    deps.syncRepository.markProbed(connectionId, now);
    try {
      await deps.client.listMassMessages(connectionId, { type: 'scheduled', limit: 1 }, { signal });
      deps.syncRepository.markConnectionHealthy(connectionId, deps.clock.now());
      deps.logger?.info({ connectionId }, 'connection resumed after a successful probe');
      return true;
    } catch (error) {
      if (isOfauthError(error) && error.kind === 'auth') {
        deps.syncRepository.pauseConnection(connectionId, `OFAuth refused the connection: ${describeFailure(error).message}`, deps.clock.now());
      }
      return false;
    }
  }

  async function isRunnable(connectionId: string, signal?: AbortSignal): Promise<boolean> {
    const connection = deps.syncRepository.findConnection(connectionId);
    if (!connection?.pausedAt) return true;
    if (deps.clock.now() - (connection.lastProbeAt ?? 0) < PROBE_INTERVAL_MS) return false;
    return probe(connectionId, signal);
  }

  /** Works one connection's due campaigns one at a time (its client call rate-limits them). */
  async function runLane(connectionId: string, summary: ReconcileSummary, signal?: AbortSignal, only?: string): Promise<void> {
    if (!(await isRunnable(connectionId, signal))) return;
    const steps = new Map<string, number>();
    while (!signal?.aborted) {
      const now = deps.clock.now();
      const { rows, takeovers } = deps.syncRepository.claim(connectionId, owner, now, deps.settings.leaseMs, deps.settings.batch, only);
      const fresh = rows.filter((r) => (steps.get(r.id) ?? 0) < MAX_STEPS_PER_CAMPAIGN);
      releaseAll(rows.filter((r) => !fresh.includes(r)));
      if (fresh.length === 0) return;
      summary.takeovers += takeovers;
      if (takeovers > 0) deps.metrics?.leaseTakeovers.inc(takeovers);
      for (const [index, row] of fresh.entries()) {
        steps.set(row.id, (steps.get(row.id) ?? 0) + 1);
        summary.claimed++;
        const outcome = await step(row);
        const field = OUTCOME_FIELD[outcome];
        if (field) summary[field]++;
        if (outcome === 'paused' || signal?.aborted) {
          // The connection stopped (auth) or we are shutting down: hand the rest back now.
          releaseAll(fresh.slice(index + 1));
          return;
        }
      }
    }
  }

  function releaseAll(rows: CampaignRow[]): void {
    for (const row of rows) deps.syncRepository.releaseLease(row.id, owner);
  }

  /**
   * Performs one campaign's next step. The tick's signal is deliberately not passed down: on
   * shutdown we stop claiming but let a step in flight finish, which leaves fewer creates of
   * unknown outcome to search for after the restart.
   */
  async function step(row: CampaignRow): Promise<Outcome> {
    const now = deps.clock.now();
    const action = planSync(row, now, deps.settings);
    const started = performance.now();
    try {
      const outcome = await performAction(operationDeps, row, action);
      deps.metrics?.syncAttempts.inc({ operation: action.kind, outcome });
      if (outcome !== 'noop' && outcome !== 'waiting') {
        deps.logger?.info({ campaignId: row.id, connectionId: row.connectionId, operation: action.kind, outcome, ms: Math.round(performance.now() - started) }, 'sync step');
      }
      return outcome;
    } catch (error) {
      // A bug or a database error: never let it escape the loop; the lease expires and the row
      // is retried (a create intent recorded before the failure makes the retry a search).
      deps.metrics?.syncAttempts.inc({ operation: action.kind, outcome: 'error' });
      deps.logger?.error({ err: error, campaignId: row.id, operation: action.kind }, 'sync step failed unexpectedly');
      return 'retry';
    }
  }

  return {
    owner,

    /**
     * One pass: every connection with due campaigns, worked in parallel, each until drained.
     * `signal` stops claiming; `campaignId` limits the pass to one campaign (a forced sync).
     */
    async reconcileOnce(options: { signal?: AbortSignal; campaignId?: string } = {}): Promise<ReconcileSummary> {
      const started = performance.now();
      const summary = emptySummary();
      const due = deps.syncRepository.dueByConnection(deps.clock.now());
      deps.metrics?.dueBacklog.reset();
      for (const { connectionId, due: count } of due) deps.metrics?.dueBacklog.set({ connection: connectionId }, count);
      summary.connections = due.length;
      await forEachLimited(due, MAX_PARALLEL_CONNECTIONS, ({ connectionId }) => runLane(connectionId, summary, options.signal, options.campaignId));
      summary.durationMs = Math.round(performance.now() - started);
      deps.metrics?.tickDuration.observe(summary.durationMs / 1000);
      return summary;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
