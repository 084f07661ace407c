import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import { forEachLimited } from '../concurrency.ts';
import type { Metrics } from '../metrics.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import { isOfauthError } from '../ofauth/errors.ts';
import type { SendWork, Store } from '../store/types.ts';
import { describeFailure } from './outcomes.ts';
import { performAction, type OperationDeps, type Outcome } from './operations.ts';
import { planSync, type PlanSettings } from './plan.ts';

export interface SyncSettings extends PlanSettings {
  /** Sends leased per claim on one connection. */
  batch: number;
  leaseMs: number;
}

export interface ReconcilerDeps {
  /** The reconciler needs only the sends and the connections' health. */
  store: Pick<Store, 'sends' | 'connections'>;
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
  /** Send steps performed (a send created then updated in one pass counts twice). */
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
/** A send is handled at most this often in one tick, so a bug can never spin a tick forever. */
const MAX_STEPS_PER_SEND = 4;

const emptySummary = (): ReconcileSummary => ({
  connections: 0, claimed: 0, created: 0, updated: 0, deleted: 0, adopted: 0, failed: 0, retried: 0, ambiguous: 0, paused: 0, takeovers: 0, durationMs: 0,
});

const OUTCOME_FIELD: Partial<Record<Outcome, keyof ReconcileSummary>> = {
  created: 'created', updated: 'updated', deleted: 'deleted', adopted: 'adopted', failed: 'failed', retry: 'retried', ambiguous: 'ambiguous', paused: 'paused',
};

/** What one pass works on: everything due, or only one campaign's sends (a forced sync) or one send. */
export interface ReconcileOptions {
  signal?: AbortSignal;
  campaignId?: string;
  sendId?: string;
}

/**
 * The sync loop as a plain, directly callable object: `reconcileOnce` claims due sends per
 * connection under a lease, performs what each needs against OFAuth, records the outcome, and
 * returns a summary. Running it twice, or in two processes on one database, converges.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const random = deps.random ?? Math.random;
  const { sends, connections } = deps.store;
  const operationDeps: OperationDeps = {
    sends,
    connections,
    owner,
    client: deps.client,
    clock: deps.clock,
    random,
    leaseMs: deps.settings.leaseMs,
    settleMs: deps.settings.settleMs,
  };

  /** One harmless read on a paused connection; success resumes it. */
  async function probe(connectionId: string, signal?: AbortSignal): Promise<boolean> {
    const now = deps.clock.now();
    await connections.markProbed(connectionId, now);
    try {
      await deps.client.listMassMessages(connectionId, { type: 'scheduled', limit: 1 }, { signal });
      await connections.markHealthy(connectionId, deps.clock.now());
      deps.logger?.info({ connectionId }, 'connection resumed after a successful probe');
      return true;
    } catch (error) {
      if (isOfauthError(error) && error.kind === 'auth') {
        await connections.pause(connectionId, `OFAuth refused the connection: ${describeFailure(error).message}`, deps.clock.now());
      }
      return false;
    }
  }

  async function isRunnable(connectionId: string, signal?: AbortSignal): Promise<boolean> {
    const connection = await connections.find(connectionId);
    if (!connection?.pausedAt) return true;
    if (deps.clock.now() - (connection.lastProbeAt ?? 0) < PROBE_INTERVAL_MS) return false;
    return probe(connectionId, signal);
  }

  /** Works one connection's due sends one at a time (its client call rate-limits them). */
  async function runLane(connectionId: string, summary: ReconcileSummary, signal?: AbortSignal, only: Pick<ReconcileOptions, 'campaignId' | 'sendId'> = {}): Promise<void> {
    if (!(await isRunnable(connectionId, signal))) return;
    const steps = new Map<string, number>();
    while (!signal?.aborted) {
      const now = deps.clock.now();
      const { work, takeovers } = await sends.claim({
        connectionId,
        owner,
        now,
        leaseMs: deps.settings.leaseMs,
        limit: deps.settings.batch,
        onlySendId: only.sendId,
        onlyCampaignId: only.campaignId,
      });
      const fresh = work.filter((w) => (steps.get(w.send.id) ?? 0) < MAX_STEPS_PER_SEND);
      await releaseAll(work.filter((w) => !fresh.includes(w)));
      if (fresh.length === 0) return;
      summary.takeovers += takeovers;
      if (takeovers > 0) deps.metrics?.leaseTakeovers.inc(takeovers);
      for (const [index, item] of fresh.entries()) {
        steps.set(item.send.id, (steps.get(item.send.id) ?? 0) + 1);
        summary.claimed++;
        const outcome = await step(item);
        const field = OUTCOME_FIELD[outcome];
        if (field) summary[field]++;
        if (outcome === 'paused' || signal?.aborted) {
          // The connection stopped (auth) or we are shutting down: hand the rest back now.
          await releaseAll(fresh.slice(index + 1));
          return;
        }
      }
    }
  }

  async function releaseAll(work: SendWork[]): Promise<void> {
    for (const { send } of work) await sends.releaseLease(send.id, owner);
  }

  /**
   * Performs one send's next step. The tick's signal is deliberately not passed down: on
   * shutdown we stop claiming but let a step in flight finish, which leaves fewer creates of
   * unknown outcome to search for after the restart.
   */
  async function step(work: SendWork): Promise<Outcome> {
    const { send } = work;
    const now = deps.clock.now();
    const action = planSync(send, now, deps.settings);
    const started = performance.now();
    try {
      const outcome = await performAction(operationDeps, work, action);
      deps.metrics?.syncAttempts.inc({ operation: action.kind, outcome });
      if (outcome !== 'noop' && outcome !== 'waiting') {
        deps.logger?.info(
          { sendId: send.id, campaignId: send.campaignId, connectionId: send.connectionId, operation: action.kind, outcome, ms: Math.round(performance.now() - started) },
          'sync step',
        );
      }
      return outcome;
    } catch (error) {
      // A bug or a database error: never let it escape the loop; the lease expires and the send
      // is retried (a create intent recorded before the failure makes the retry a search).
      deps.metrics?.syncAttempts.inc({ operation: action.kind, outcome: 'error' });
      deps.logger?.error({ err: error, sendId: send.id, campaignId: send.campaignId, operation: action.kind }, 'sync step failed unexpectedly');
      return 'retry';
    }
  }

  return {
    owner,

    /**
     * One pass: every connection with due sends, worked in parallel, each until drained.
     * `signal` stops claiming; `campaignId` limits the pass to one campaign's sends (a forced
     * sync), `sendId` to one send.
     */
    async reconcileOnce(options: ReconcileOptions = {}): Promise<ReconcileSummary> {
      const started = performance.now();
      const summary = emptySummary();
      const due = await sends.dueByConnection(deps.clock.now());
      deps.metrics?.dueBacklog.reset();
      for (const { connectionId, due: count } of due) deps.metrics?.dueBacklog.set({ connection: connectionId }, count);
      summary.connections = due.length;
      await forEachLimited(due, MAX_PARALLEL_CONNECTIONS, ({ connectionId }) => runLane(connectionId, summary, options.signal, options));
      summary.durationMs = Math.round(performance.now() - started);
      deps.metrics?.tickDuration.observe(summary.durationMs / 1000);
      return summary;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
