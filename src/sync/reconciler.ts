import type { Clock } from '../clock.ts';
import { forEachLimited } from '../concurrency.ts';
import { newInstanceId, type ConnectionLeases } from '../instances/connection-leases.ts';
import type { Metrics } from '../metrics.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import { isOfauthError } from '../ofauth/errors.ts';
import type { SendWork, Store } from '../store/types.ts';
import { DEFAULT_AUDIENCE_MAX_FANS, DEFAULT_AUDIENCE_RESOLVE_LEAD_MS } from './audience-step.ts';
import { describeFailure } from './outcomes.ts';
import { performAction, type OperationDeps, type Outcome } from './operations.ts';
import { planSync, type PlanSettings } from './plan.ts';

export interface SyncSettings extends PlanSettings {
  /** Sends leased per claim on one connection. */
  batch: number;
  leaseMs: number;
  /** AUDIENCE_RESOLVE_LEAD: a chat-filter audience is resolved (and its send created) this long before its time. */
  audienceResolveLeadMs?: number;
  /** AUDIENCE_MAX_FANS: a send resolving to more fans fails. */
  audienceMaxFans?: number;
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
  /**
   * When given, only connections this instance holds are worked (several instances, one
   * database): each tick first refreshes the leases with the connections that have work due.
   */
  leases?: Pick<ConnectionLeases, 'refresh' | 'whileHeld'>;
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
/**
 * Most steps one connection has in flight. The bucket bounds it first (see mayStartAnother);
 * this caps a bucket with a large burst (OFAuth's is 90), keeping sockets and the shutdown
 * drain modest.
 */
export const MAX_IN_FLIGHT_PER_CONNECTION = 16;
/** Outcomes that prove OFAuth accepts calls on the connection: its lane may widen. */
const ACCEPTED: ReadonlySet<Outcome> = new Set(['created', 'updated', 'deleted', 'adopted', 'absent', 'prepared']);

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
  const owner = deps.owner ?? newInstanceId();
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
    audience: {
      resolveLeadMs: deps.settings.audienceResolveLeadMs ?? DEFAULT_AUDIENCE_RESOLVE_LEAD_MS,
      maxFans: deps.settings.audienceMaxFans ?? DEFAULT_AUDIENCE_MAX_FANS,
    },
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

  /**
   * Works one connection's due sends with several steps in flight, as many as its rate-limit
   * bucket can pay for now (see mayStartAnother), so a lane's throughput is the bucket's and not
   * 1 / latency. Each send still has one step at a time: a claimed send stays leased to us until
   * its step records the outcome, so a later claim cannot return it, and `running` guards the
   * moment between a step releasing its lease and finishing.
   *
   * The lane starts narrow, one step at a time, and widens once OFAuth has accepted a call on
   * it (see ACCEPTED): an expired session or an OFAuth answering errors then costs one call per
   * step, not a window's worth of refused calls. That costs a cold backlog about one answer's
   * latency: OFAuth's bucket sits full meanwhile, and refill past full is lost.
   *
   * Once wide, a lane with more to start and no token waits for whichever comes first, a step
   * finishing or the bucket's next token (finishedOrToken), so each send leaves at its slot.
   *
   * Sends are claimed a batch at a time into `queue` (one write transaction per batch, not per
   * send) and claimed again whenever a slot is free and the queue is empty: a finished step may
   * have made its send due again (an edit during a create), so an empty claim only ends the lane
   * once nothing is running. "paused" (auth) and an aborted signal stop new steps and hand the
   * queue back; steps already in flight finish and are counted.
   */
  async function runLane(connectionId: string, summary: ReconcileSummary, signal?: AbortSignal, only: Pick<ReconcileOptions, 'campaignId' | 'sendId'> = {}): Promise<void> {
    if (!(await isRunnable(connectionId, signal))) return;
    const steps = new Map<string, number>();
    let queue: SendWork[] = [];
    const running = new Set<string>();
    /** Claimed again while its step was finishing: released when that step is done. */
    const reclaimed = new Map<string, SendWork>();
    let isWide = false;
    let isStopped = false;
    // A claim found nothing new after this many steps had finished; another finishing since may
    // have made its send due again. Counted, not flagged, so a step finishing during a claim
    // (a store that answers after I/O) is never taken for one the claim already saw.
    let finished = 0;
    let drainedAt = -1;
    // Wakes the loop when a step finishes (one waiter, not a race over every step in flight).
    let wake = () => {};

    const claimMore = async () => {
      const finishedBefore = finished;
      const { work, takeovers } = await sends.claim({
        connectionId,
        owner,
        now: deps.clock.now(),
        leaseMs: deps.settings.leaseMs,
        limit: deps.settings.batch,
        onlySendId: only.sendId,
        onlyCampaignId: only.campaignId,
      });
      summary.takeovers += takeovers;
      if (takeovers > 0) deps.metrics?.leaseTakeovers.inc(takeovers);
      const spent: SendWork[] = [];
      let queued = 0;
      for (const item of work) {
        const { id } = item.send;
        if (running.has(id)) {
          reclaimed.set(id, item);
        } else if ((steps.get(id) ?? 0) >= MAX_STEPS_PER_SEND) {
          spent.push(item);
        } else {
          // Our own lease ran out while it waited in the queue: the claim's row is the fresher one.
          queue = [...queue.filter((q) => q.send.id !== id), item];
          queued++;
        }
      }
      await releaseAll(spent);
      if (queued === 0) drainedAt = finishedBefore;
    };

    const finish = async (work: SendWork, outcome: Outcome) => {
      const { id } = work.send;
      try {
        const field = OUTCOME_FIELD[outcome];
        if (field) summary[field]++;
        if (ACCEPTED.has(outcome)) isWide = true;
        // The connection stopped (auth): no new steps; the ones in flight fail or finish alone.
        if (outcome === 'paused') isStopped = true;
        // Due again before its step was done: hand it back so the next claim reads it afresh.
        const again = reclaimed.get(id);
        reclaimed.delete(id);
        if (again) await releaseAll([again]);
      } finally {
        running.delete(id);
        finished++;
        wake();
      }
    };

    const start = (work: SendWork) => {
      const { id } = work.send;
      steps.set(id, (steps.get(id) ?? 0) + 1);
      summary.claimed++;
      running.add(id);
      // Nobody awaits this promise, so nothing may escape it: finish() must run whatever step()
      // did, or the lane would wait for it forever. A failed release only leaves a lease to
      // expire; it is logged.
      void step(work)
        .catch((error: unknown): Outcome => {
          deps.logger?.error({ err: error, sendId: id, connectionId }, 'sync step failed unexpectedly');
          return 'retry';
        })
        .then((outcome) => finish(work, outcome))
        .catch((error: unknown) => deps.logger?.error({ err: error, sendId: id, connectionId }, 'sync lane could not release a lease'));
    };

    /**
     * Waits for a step to finish or, when the lane has more to start and only lacks a token, for
     * the bucket's next token: with slow answers (OFAuth passes calls through to OnlyFans) a
     * token would otherwise wait for the next answer, and each send leave later than its slot.
     */
    const finishedOrToken = async () => {
      const mayWiden = !isStopped && !signal?.aborted && isWide && running.size < MAX_IN_FLIGHT_PER_CONNECTION;
      const hasMore = queue.length > 0 || drainedAt !== finished;
      const tokenInMs = mayWiden && hasMore ? deps.client.msUntilToken(connectionId) : 0;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (tokenInMs > 0) timer = setTimeout(resolve, Math.ceil(tokenInMs));
      });
      clearTimeout(timer);
    };

    for (;;) {
      while (!isStopped && !signal?.aborted && mayStartAnother(connectionId, running.size, isWide)) {
        if (queue.length === 0 && drainedAt !== finished) await claimMore();
        const work = queue.shift();
        if (work === undefined) break;
        // Queued behind an empty bucket for most of its lease: give it back rather than risk a
        // call outliving the lease (another process could then take the send over mid-call).
        if ((work.send.leaseExpiresAt ?? 0) - deps.clock.now() < deps.settings.leaseMs / 2) {
          await releaseAll([work]);
          continue;
        }
        start(work);
        // Let I/O run between starts: each start commits its intent synchronously on SQLite, and
        // twenty lanes starting sixteen steps each in one go would hold every request (and every
        // answer, which the rate limiter waits for to anchor its refill clock) for a second.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (running.size === 0) break;
      await finishedOrToken();
    }
    // Shutting down or paused: what was claimed but not started is claimable again at once.
    await releaseAll(queue.splice(0));
  }

  /**
   * Whether the lane may put one more step in flight: always when none is (a step waits for its
   * own token in the client), otherwise once the lane is wide and while the bucket holds a whole
   * unreserved token, up to a fixed cap. A step reserves its token when its call starts (the
   * limiter debits before it sleeps), which on SQLite is before the next start (see the
   * setImmediate above), so this reads what is left. Tokens that arrive while steps are in
   * flight are spent when they arrive (the lane wakes for them, see finishedOrToken), so the lane
   * keeps pace with the refill whatever the latency, and never queues more steps behind an empty
   * bucket than one (a shutdown waits for at most those).
   */
  function mayStartAnother(connectionId: string, inFlight: number, isWide: boolean): boolean {
    if (inFlight === 0) return true;
    return isWide && inFlight < MAX_IN_FLIGHT_PER_CONNECTION && deps.client.availableTokens(connectionId) >= 1;
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
      const { leases } = deps;
      if (leases) await leases.refresh(due.map((d) => d.connectionId));
      await forEachLimited(due, MAX_PARALLEL_CONNECTIONS, async ({ connectionId }) => {
        const work = async () => {
          summary.connections++;
          await runLane(connectionId, summary, options.signal, options);
        };
        await (leases ? leases.whileHeld(connectionId, work) : work());
      });
      summary.durationMs = Math.round(performance.now() - started);
      deps.metrics?.tickDuration.observe(summary.durationMs / 1000);
      return summary;
    },
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
