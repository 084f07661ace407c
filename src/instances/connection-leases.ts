import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock.ts';
import type { InstanceRecord, Store } from '../store/types.ts';

/*
 * Connection leases: which instance works a connection's sync lane and stats poll. Each instance
 * heartbeats and renews its leases every LEASE_MS / 3; a lease and a heartbeat both last
 * 2/3 × LEASE_MS, so a dead instance's connections expire at most 2/3 × LEASE_MS after its last
 * renewal and are taken at the next refresh of a live instance, within LEASE_MS in all.
 *
 * Fair share: every connection the lease table knows is divided among the live instances; one
 * holds at most ceil(connections / live instances). An instance above its share (others have
 * started) hands the surplus back at its next refresh, lanes in flight excepted, and a new
 * instance takes free connections up to its share: no restart of the others.
 *
 * The per-send leases stay underneath (belt and braces): an instance that stalls past its
 * connection lease and wakes up mid-lane still cannot touch a send another holds.
 */

/** Instances that stopped heartbeating are listed nowhere once this old; their rows are pruned. */
const DEAD_INSTANCE_KEPT_MS = 60 * 60_000;

/** A process's instance id, also its lease owner id: host, pid and a random part (pids repeat). */
export function newInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/** What the instances table records of this process, under `id`. */
export function thisInstance(id: string, startedAt: number): Omit<InstanceRecord, 'heartbeatAt'> {
  return { id, host: hostname(), pid: process.pid, startedAt };
}

export interface ConnectionLeasesDeps {
  store: Pick<Store, 'instances'>;
  clock: Clock;
  /** LEASE_MS: a dead instance's connections are taken over within this. */
  leaseMs: number;
  instance: Omit<InstanceRecord, 'heartbeatAt'>;
  logger?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
  /**
   * A connection taken from another instance (dead, shut down or handing back its surplus):
   * its OFAuth bucket was being spent elsewhere until now (the runtime empties ours).
   */
  onTakeover?: (connectionId: string) => void;
}

export function createConnectionLeases(deps: ConnectionLeasesDeps) {
  const { clock, instance } = deps;
  const instances = deps.store.instances;
  const ttlMs = Math.max(1, Math.floor((deps.leaseMs * 2) / 3));
  let held = new Set<string>();
  /** Lanes and polls running per connection: never handed back mid-work. */
  const busy = new Map<string, number>();
  let chain: Promise<unknown> = Promise.resolve();
  let isStopped = false;
  let timer: NodeJS.Timeout | null = null;
  let prunedAt = Number.NEGATIVE_INFINITY;

  async function refreshNow(wanted: readonly string[]): Promise<void> {
    if (isStopped) return;
    const now = clock.now();
    await instances.heartbeat(instance, now);
    await instances.addConnections([...wanted]);
    // Strictly younger than a lease: an instance is live exactly while its leases are unexpired.
    const [live, total] = await Promise.all([instances.live(now - ttlMs + 1, now), instances.connectionCount()]);
    const share = Math.ceil(total / Math.max(1, live.length));
    let mine = await instances.renew(instance.id, now + ttlMs);
    if (mine.length > share) {
      // The highest ids go back (claims take the lowest first), idle ones only.
      const surplus = mine.filter((id) => !busy.has(id)).slice(-(mine.length - share));
      const handedBack = new Set(surplus);
      mine = mine.filter((id) => !handedBack.has(id));
      // Dropped from `held` before the release is written: no lane starts on one being handed back.
      held = new Set(mine);
      await instances.release(instance.id, surplus);
    } else if (mine.length < share) {
      const taken = await instances.acquire({ owner: instance.id, now, expiresAt: now + ttlMs, limit: share - mine.length });
      for (const { connectionId, previousOwner } of taken) {
        if (previousOwner !== null && previousOwner !== instance.id) deps.onTakeover?.(connectionId);
      }
      if (taken.length > 0) deps.logger?.info({ connections: taken.map((t) => t.connectionId) }, 'connection leases taken');
      mine = [...mine, ...taken.map((t) => t.connectionId)].sort();
    }
    if (!isStopped) held = new Set(mine);
    if (now - prunedAt >= DEAD_INSTANCE_KEPT_MS) {
      prunedAt = now;
      await instances.prune(now - DEAD_INSTANCE_KEPT_MS);
    }
  }

  return {
    instanceId: instance.id,
    /** How long a lease and a heartbeat last (2/3 × LEASE_MS). */
    ttlMs,

    /**
     * Heartbeats, learns `wanted` connections (those with work now), renews this instance's
     * leases, hands back its surplus or takes free connections up to its fair share. Calls run
     * one after another, never side by side.
     */
    refresh(wanted: readonly string[] = []): Promise<void> {
      const run = chain.then(() => refreshNow(wanted));
      chain = run.catch(() => undefined);
      return run;
    },

    /** Whether this instance holds the connection's lease (as of its last refresh). */
    holds(connectionId: string): boolean {
      return held.has(connectionId);
    },

    held(): string[] {
      return [...held].sort();
    },

    /**
     * Whether this instance may spend the connection's OFAuth budget outside its lanes (a
     * create's list check): when it holds the lease, or no other instance is live to hold it.
     * Reads the live instances from the database, so a peer started since the last refresh counts.
     */
    async maySpend(connectionId: string): Promise<boolean> {
      if (held.has(connectionId)) return true;
      const now = clock.now();
      const live = await instances.live(now - ttlMs + 1, now);
      return live.every((other) => other.id === instance.id);
    },

    /**
     * Runs `work` on a connection this instance holds (skipped otherwise, answering null),
     * marked busy so that a refresh never hands it back mid-work.
     */
    async whileHeld<T>(connectionId: string, work: () => Promise<T>): Promise<T | null> {
      if (!held.has(connectionId)) return null;
      busy.set(connectionId, (busy.get(connectionId) ?? 0) + 1);
      try {
        return await work();
      } finally {
        const left = busy.get(connectionId)! - 1;
        if (left === 0) busy.delete(connectionId);
        else busy.set(connectionId, left);
      }
    },

    /** Refreshes now and then every LEASE_MS / 3 on a timer (only the server calls this; tests call refresh). */
    start(): void {
      if (timer || isStopped) return;
      const refreshLogged = () => {
        this.refresh().catch((error: unknown) => deps.logger?.warn({ err: error }, 'connection lease refresh failed; retrying at the next one'));
      };
      timer = setInterval(refreshLogged, Math.max(1, Math.floor(deps.leaseMs / 3)));
      timer.unref();
      refreshLogged();
    },

    /**
     * Stops refreshing and hands every connection back at once, removing this instance's row, so
     * another instance takes them at its next refresh instead of waiting for the leases to
     * expire. Call it after the loops have stopped (no lane is then running).
     */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      isStopped = true;
      await chain;
      held = new Set();
      await instances.remove(instance.id);
    },
  };
}

export type ConnectionLeases = ReturnType<typeof createConnectionLeases>;
