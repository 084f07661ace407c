import { and, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { CampaignRow } from '../campaigns/repository.ts';
import type { Db } from '../db/client.ts';
import { campaigns, connections, runs } from '../db/schema.ts';

export type ConnectionRow = typeof connections.$inferSelect;

/** How many sync runs of each kind are kept for /v1/sync/status; older ones are pruned. */
const RUNS_KEPT = 500;
/** connections.last_success_at is kept to this precision; it is not rewritten more often. */
const SUCCESS_STAMP_MS = 10_000;

/** The reconciler's queries: claiming work under a lease, and connection pause state. */
export function createSyncRepository(db: Db) {
  const healthOf = db
    .select({ pausedAt: connections.pausedAt, lastSuccessAt: connections.lastSuccessAt })
    .from(connections)
    .where(eq(connections.id, sql.placeholder('id')))
    .prepare();

  return {
    /** Connections with campaigns due now, and how many are due on each. */
    dueByConnection(now: number): Array<{ connectionId: string; due: number }> {
      return db
        .select({ connectionId: campaigns.connectionId, due: sql<number>`count(*)` })
        .from(campaigns)
        .where(and(isNotNull(campaigns.syncDueAt), lte(campaigns.syncDueAt, now)))
        .groupBy(campaigns.connectionId)
        .all();
    },

    /**
     * Leases up to `limit` due campaigns of one connection to `owner`, oldest due first, in one
     * write transaction: a row leased by a live owner is never returned to another, and a row
     * whose lease expired (its owner crashed) is taken over. Reports how many were takeovers.
     */
    claim(connectionId: string, owner: string, now: number, leaseMs: number, limit: number, onlyId?: string): { rows: CampaignRow[]; takeovers: number } {
      return db.transaction(
        () => {
          const candidates = db.$client
            .prepare(
              `SELECT id, lease_owner AS leaseOwner FROM campaigns
               WHERE connection_id = ? AND sync_due_at IS NOT NULL AND sync_due_at <= ?
                 AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                 AND (? IS NULL OR id = ?)
               ORDER BY sync_due_at LIMIT ?`,
            )
            .all(connectionId, now, now, onlyId ?? null, onlyId ?? null, limit) as Array<{ id: string; leaseOwner: string | null }>;
          if (candidates.length === 0) return { rows: [], takeovers: 0 };
          const takeovers = candidates.filter((c) => c.leaseOwner !== null && c.leaseOwner !== owner).length;
          const ids = candidates.map((c) => c.id);
          const rows = db
            .update(campaigns)
            .set({ leaseOwner: owner, leaseExpiresAt: now + leaseMs })
            .where(inArray(campaigns.id, ids))
            .returning()
            .all();
          return { rows, takeovers };
        },
        { behavior: 'immediate' },
      );
    },

    /** Gives a lease back without changing anything else. */
    releaseLease(id: string, owner: string): void {
      db.update(campaigns)
        .set({ leaseOwner: null, leaseExpiresAt: null })
        .where(and(eq(campaigns.id, id), eq(campaigns.leaseOwner, owner)))
        .run();
    },

    /** Campaign ids (other than `exceptId`) already owning one of these remote ids. */
    ownersOfRemoteIds(connectionId: string, remoteIds: string[]): Map<string, string> {
      if (remoteIds.length === 0) return new Map();
      const rows = db
        .select({ id: campaigns.id, remoteId: campaigns.remoteId })
        .from(campaigns)
        .where(and(eq(campaigns.connectionId, connectionId), inArray(campaigns.remoteId, remoteIds)))
        .all();
      return new Map(rows.map((r) => [r.remoteId!, r.id]));
    },

    inFlight(now: number): number {
      const row = db
        .select({ n: sql<number>`count(*)` })
        .from(campaigns)
        .where(and(isNotNull(campaigns.leaseOwner), sql`${campaigns.leaseExpiresAt} > ${now}`))
        .get();
      return row?.n ?? 0;
    },

    findConnection(id: string): ConnectionRow | undefined {
      return db.select().from(connections).where(eq(connections.id, id)).get();
    },

    pausedConnections(): ConnectionRow[] {
      return db.select().from(connections).where(isNotNull(connections.pausedAt)).all();
    },

    /** Pauses a connection and marks its pending campaigns paused, with the reason, at once. */
    pauseConnection(id: string, reason: string, now: number): void {
      db.transaction(() => {
        db.insert(connections)
          .values({ id, pausedAt: now, pauseReason: reason, lastProbeAt: now })
          .onConflictDoUpdate({ target: connections.id, set: { pausedAt: now, pauseReason: reason, lastProbeAt: now } })
          .run();
        db.update(campaigns)
          .set({ syncState: 'paused', lastError: reason })
          .where(and(eq(campaigns.connectionId, id), isNotNull(campaigns.syncDueAt)))
          .run();
      });
    },

    /**
     * Records a successful call; a paused connection resumes and its campaigns become pending.
     * The usual case (not paused, stamped within SUCCESS_STAMP_MS) is answered by one read and
     * writes nothing: it runs after every successful sync step, and a write transaction there
     * costs each step one more commit (an fsync under synchronous=FULL).
     */
    markConnectionHealthy(id: string, now: number): boolean {
      const known = healthOf.get({ id });
      if (known && known.pausedAt === null && known.lastSuccessAt !== null && now - known.lastSuccessAt < SUCCESS_STAMP_MS) return false;
      return db.transaction(() => {
        const existing = db.select().from(connections).where(eq(connections.id, id)).get();
        if (!existing) {
          db.insert(connections).values({ id, lastSuccessAt: now }).run();
          return false;
        }
        db.update(connections).set({ pausedAt: null, pauseReason: null, lastSuccessAt: now }).where(eq(connections.id, id)).run();
        if (existing.pausedAt === null) return false;
        db.update(campaigns)
          .set({
            syncState: sql`CASE WHEN ${campaigns.createStartedAt} IS NOT NULL THEN 'creating' ELSE 'pending' END`,
            lastError: null,
          })
          .where(and(eq(campaigns.connectionId, id), eq(campaigns.syncState, 'paused')))
          .run();
        return true;
      });
    },

    markProbed(id: string, now: number): void {
      db.update(connections).set({ lastProbeAt: now }).where(eq(connections.id, id)).run();
    },

    recordRun(run: typeof runs.$inferInsert): void {
      db.transaction(() => {
        const inserted = db.insert(runs).values(run).returning({ id: runs.id }).get();
        db.delete(runs)
          .where(and(eq(runs.kind, run.kind), sql`${runs.id} <= ${inserted.id - RUNS_KEPT}`))
          .run();
      });
    },

    lastRun(kind: 'sync' | 'stats') {
      return db.select().from(runs).where(eq(runs.kind, kind)).orderBy(sql`${runs.id} DESC`).limit(1).get();
    },
  };
}

export type SyncRepository = ReturnType<typeof createSyncRepository>;
