import { and, asc, count, eq, gt, gte, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { PgDb } from '../../db/postgres/client.ts';
import { connectionLeases, instances } from '../../db/postgres/schema.ts';
import type { InstanceStore } from '../types.ts';
import { transaction } from './write.ts';

/**
 * Instances and connection leases on PostgreSQL (the twin of ../sqlite/instances.ts). An acquire
 * locks the free rows it takes with FOR UPDATE SKIP LOCKED, so two instances claiming at once
 * take different connections and neither waits; a row another claim re-leased meanwhile fails
 * the re-checked predicate and is skipped. A released lease keeps its last owner with no expiry. Every method is one short statement or transaction:
 * none is held while the instance works the connection.
 */
export function createPostgresInstanceStore(db: PgDb): InstanceStore {
  return {
    async heartbeat(instance, now) {
      await db
        .insert(instances)
        .values({ ...instance, heartbeatAt: now })
        .onConflictDoUpdate({ target: instances.id, set: { heartbeatAt: now } });
    },

    async live(since, now) {
      const held = db
        .select({ owner: connectionLeases.owner, held: count().as('held') })
        .from(connectionLeases)
        .where(gt(connectionLeases.expiresAt, now))
        .groupBy(connectionLeases.owner)
        .as('held');
      const rows = await db
        .select({ instance: instances, held: held.held })
        .from(instances)
        .leftJoin(held, eq(held.owner, instances.id))
        .where(gte(instances.heartbeatAt, since))
        .orderBy(asc(instances.startedAt), asc(instances.id));
      return rows.map((r) => ({ ...r.instance, connectionsHeld: Number(r.held ?? 0) }));
    },

    async addConnections(connectionIds) {
      if (connectionIds.length === 0) return;
      // Sorted: two instances inserting overlapping sets take the key locks in one order.
      const values = [...new Set(connectionIds)].sort().map((connectionId) => ({ connectionId }));
      await db.insert(connectionLeases).values(values).onConflictDoNothing();
    },

    async connectionCount() {
      const [row] = await db.select({ n: count() }).from(connectionLeases);
      return Number(row!.n);
    },

    async renew(owner, expiresAt) {
      const rows = await db
        .update(connectionLeases)
        .set({ expiresAt })
        .where(and(eq(connectionLeases.owner, owner), isNotNull(connectionLeases.expiresAt)))
        .returning({ id: connectionLeases.connectionId });
      return rows.map((r) => r.id).sort();
    },

    async acquire({ owner, now, expiresAt, limit }) {
      if (limit <= 0) return [];
      // The previous owner is read from the locked row before the update overwrites it.
      const rows = await db.execute<{ connection_id: string; previous_owner: string | null }>(sql`
        WITH free AS (
          SELECT connection_id, owner FROM ${connectionLeases}
          WHERE expires_at IS NULL OR expires_at <= ${now}
          ORDER BY connection_id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        )
        UPDATE ${connectionLeases} AS l SET owner = ${owner}, expires_at = ${expiresAt}
        FROM free WHERE l.connection_id = free.connection_id
        RETURNING l.connection_id, free.owner AS previous_owner`);
      return rows.rows.map((r) => ({ connectionId: r.connection_id, previousOwner: r.previous_owner })).sort((a, b) => (a.connectionId < b.connectionId ? -1 : 1));
    },

    async release(owner, connectionIds) {
      if (connectionIds?.length === 0) return;
      const mine = eq(connectionLeases.owner, owner);
      await db
        .update(connectionLeases)
        .set({ expiresAt: null })
        .where(connectionIds ? and(mine, inArray(connectionLeases.connectionId, connectionIds)) : mine);
    },

    async remove(id) {
      await transaction(db, async (tx) => {
        await tx.update(connectionLeases).set({ expiresAt: null }).where(eq(connectionLeases.owner, id));
        await tx.delete(instances).where(eq(instances.id, id));
      });
    },

    async prune(before) {
      const rows = await db.delete(instances).where(lt(instances.heartbeatAt, before)).returning({ id: instances.id });
      return rows.length;
    },
  };
}
