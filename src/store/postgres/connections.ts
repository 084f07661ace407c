import { and, asc, count, desc, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { Column } from 'drizzle-orm';
import type { PgDb } from '../../db/postgres/client.ts';
import { campaigns, connections, runs, sends } from '../../db/postgres/schema.ts';
import { QUEUED_SEND_STATUSES, RUNS_KEPT, isSuccessAlreadyRecorded, summarizeConnections, toConnection } from '../connection-rules.ts';
import type { ConnectionStore, Run, RunStore } from '../types.ts';
import { preparedSelect } from './prepared.ts';
import { transaction, writeSend } from './write.ts';

/* Read after every successful OFAuth call: built once, a named statement (./prepared.ts). */
const selectHealth = preparedSelect<{ pausedAt: number | null; lastSuccessAt: number | null }>(
  'fanout_connection_health',
  { pausedAt: connections.pausedAt, lastSuccessAt: connections.lastSuccessAt },
  (select) => select.from(connections).where(eq(connections.id, sql.placeholder('id'))),
);

/**
 * Connection health (the twin of ../sqlite/connections.ts). The connection row is locked before
 * its sends, which are locked in id order; only sends are written, so no campaign lock is needed.
 */
export function createPostgresConnectionStore(db: PgDb): ConnectionStore {
  return {
    async find(id) {
      const [row] = await db.select().from(connections).where(eq(connections.id, id));
      return row ? toConnection(row) : null;
    },

    async paused() {
      return (await db.select().from(connections).where(isNotNull(connections.pausedAt)).orderBy(asc(connections.id))).map(toConnection);
    },

    // Three reads, not one snapshot: the page is a dashboard of counts, not a ledger.
    async list(connectionIds) {
      if (connectionIds !== null && connectionIds.length === 0) return [];
      const only = (column: Column) => (connectionIds === null ? undefined : inArray(column, connectionIds));
      const [rows, campaignCounts, queuedCounts] = await Promise.all([
        db.select().from(connections).where(only(connections.id)),
        db.select({ connectionId: campaigns.connectionId, count: count() }).from(campaigns).where(only(campaigns.connectionId)).groupBy(campaigns.connectionId),
        db
          .select({ connectionId: sends.connectionId, count: count() })
          .from(sends)
          .where(and(only(sends.connectionId), inArray(sends.status, [...QUEUED_SEND_STATUSES])))
          .groupBy(sends.connectionId),
      ]);
      return summarizeConnections(rows, campaignCounts, queuedCounts);
    },

    async pause(id, reason, now) {
      await transaction(db, async (tx) => {
        await tx
          .insert(connections)
          .values({ id, pausedAt: now, pauseReason: reason, lastProbeAt: now })
          .onConflictDoUpdate({ target: connections.id, set: { pausedAt: now, pauseReason: reason, lastProbeAt: now } });
        const due = await tx.select().from(sends).where(and(eq(sends.connectionId, id), isNotNull(sends.syncDueAt))).orderBy(asc(sends.id)).for('update');
        for (const send of due) await writeSend(tx, send, { syncState: 'paused', lastError: reason }, now);
      });
    },

    /* The usual case (not paused, stamped within SUCCESS_STAMP_MS) is one read and no write. */
    async markHealthy(id, now) {
      const [known] = await selectHealth(db, { id });
      if (isSuccessAlreadyRecorded(known, now)) return false;
      return transaction(db, async (tx) => {
        // Inserted if missing (another instance may insert it at the same moment: no conflict
        // error, whoever is second just locks the row), then locked to read its pause as it is.
        await tx.insert(connections).values({ id, lastSuccessAt: now }).onConflictDoNothing();
        const [existing] = await tx.select().from(connections).where(eq(connections.id, id)).for('update');
        await tx.update(connections).set({ pausedAt: null, pauseReason: null, lastSuccessAt: now }).where(eq(connections.id, id));
        if (!existing || existing.pausedAt === null) return false;
        // 'pending' is not sticky: the lifecycle derives the real state (creating, pending, …).
        const paused = await tx.select().from(sends).where(and(eq(sends.connectionId, id), eq(sends.syncState, 'paused'))).orderBy(asc(sends.id)).for('update');
        for (const send of paused) await writeSend(tx, send, { syncState: 'pending', lastError: null }, now);
        return true;
      });
    },

    async markProbed(id, now) {
      await db.update(connections).set({ lastProbeAt: now }).where(eq(connections.id, id));
    },
  };
}

/** The loops' run history, for /v1/sync/status. */
export function createPostgresRunStore(db: PgDb): RunStore {
  return {
    // Two statements, no transaction: the prune is housekeeping, and a run recorded by another
    // instance in between only shifts which old row goes first.
    async record(run) {
      await db.insert(runs).values(run);
      // Ids are shared by both kinds, so the cut is the RUNS_KEPT-th newest id of this kind.
      const cut = db.select({ id: runs.id }).from(runs).where(eq(runs.kind, run.kind)).orderBy(desc(runs.id)).limit(1).offset(RUNS_KEPT);
      await db.delete(runs).where(and(eq(runs.kind, run.kind), lte(runs.id, cut)));
    },

    async last(kind) {
      const [row] = await db.select().from(runs).where(eq(runs.kind, kind)).orderBy(desc(runs.id)).limit(1);
      if (!row) return null;
      const { id: _id, ...run } = row;
      return run satisfies Run;
    },
  };
}
