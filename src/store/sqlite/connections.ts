import { and, count, desc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Column } from 'drizzle-orm';
import type { Db } from '../../db/sqlite/client.ts';
import { campaigns, connections, runs, sends } from '../../db/sqlite/schema.ts';
import { QUEUED_SEND_STATUSES, RUNS_KEPT, isSuccessAlreadyRecorded, summarizeConnections, toConnection } from '../connection-rules.ts';
import type { ConnectionStore, Run, RunStore } from '../types.ts';
import { writeSend } from './write.ts';

/** Connection health: an auth failure pauses a connection's sync work until a call succeeds. */
export function createSqliteConnectionStore(db: Db): ConnectionStore {
  const immediate = <T>(fn: () => T): T => db.transaction(fn, { behavior: 'immediate' });
  const healthOf = db
    .select({ pausedAt: connections.pausedAt, lastSuccessAt: connections.lastSuccessAt })
    .from(connections)
    .where(eq(connections.id, sql.placeholder('id')))
    .prepare();

  return {
    async find(id) {
      const row = db.select().from(connections).where(eq(connections.id, id)).get();
      return row ? toConnection(row) : null;
    },

    async paused() {
      return db.select().from(connections).where(isNotNull(connections.pausedAt)).all().map(toConnection);
    },

    async list(connectionIds) {
      if (connectionIds !== null && connectionIds.length === 0) return [];
      const only = (column: Column) => (connectionIds === null ? undefined : inArray(column, connectionIds));
      return db.transaction(() => {
        const rows = db.select().from(connections).where(only(connections.id)).all();
        const campaignCounts = db.select({ connectionId: campaigns.connectionId, count: count() }).from(campaigns).where(only(campaigns.connectionId)).groupBy(campaigns.connectionId).all();
        const queuedCounts = db
          .select({ connectionId: sends.connectionId, count: count() })
          .from(sends)
          .where(and(only(sends.connectionId), inArray(sends.status, [...QUEUED_SEND_STATUSES])))
          .groupBy(sends.connectionId)
          .all();
        return summarizeConnections(rows, campaignCounts, queuedCounts);
      });
    },

    async pause(id, reason, now) {
      immediate(() => {
        db.insert(connections)
          .values({ id, pausedAt: now, pauseReason: reason, lastProbeAt: now })
          .onConflictDoUpdate({ target: connections.id, set: { pausedAt: now, pauseReason: reason, lastProbeAt: now } })
          .run();
        // Each through the lifecycle (pausing is rare; the sends with due work are few).
        const due = db.select().from(sends).where(and(eq(sends.connectionId, id), isNotNull(sends.syncDueAt))).all();
        for (const send of due) writeSend(db, send, { syncState: 'paused', lastError: reason }, now);
      });
    },

    /*
     * The usual case (not paused, stamped within SUCCESS_STAMP_MS) is answered by one read and
     * writes nothing: it runs after every successful sync step, and a write transaction there
     * costs each step one more commit (an fsync under synchronous=FULL).
     */
    async markHealthy(id, now) {
      const known = healthOf.get({ id });
      if (isSuccessAlreadyRecorded(known, now)) return false;
      return immediate(() => {
        const existing = db.select().from(connections).where(eq(connections.id, id)).get();
        if (!existing) {
          db.insert(connections).values({ id, lastSuccessAt: now }).run();
          return false;
        }
        db.update(connections).set({ pausedAt: null, pauseReason: null, lastSuccessAt: now }).where(eq(connections.id, id)).run();
        if (existing.pausedAt === null) return false;
        // 'pending' is not sticky: the lifecycle derives the real state (creating, pending, …).
        const paused = db.select().from(sends).where(and(eq(sends.connectionId, id), eq(sends.syncState, 'paused'))).all();
        for (const send of paused) writeSend(db, send, { syncState: 'pending', lastError: null }, now);
        return true;
      });
    },

    async markProbed(id, now) {
      db.update(connections).set({ lastProbeAt: now }).where(eq(connections.id, id)).run();
    },
  };
}

/** The loops' run history, for /v1/sync/status. */
export function createSqliteRunStore(db: Db): RunStore {
  return {
    async record(run) {
      db.transaction(() => {
        db.insert(runs).values(run).run();
        // Ids are shared by both kinds, so the cut is the RUNS_KEPT-th newest id of this kind.
        const cut = db.select({ id: runs.id }).from(runs).where(eq(runs.kind, run.kind)).orderBy(desc(runs.id)).limit(1).offset(RUNS_KEPT).get();
        if (cut) db.delete(runs).where(and(eq(runs.kind, run.kind), sql`${runs.id} <= ${cut.id}`)).run();
      });
    },

    async last(kind) {
      const row = db.select().from(runs).where(eq(runs.kind, kind)).orderBy(desc(runs.id)).limit(1).get();
      if (!row) return null;
      const { id: _id, ...run } = row;
      return run satisfies Run;
    },
  };
}
