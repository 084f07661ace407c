import { and, asc, count, eq, gt, inArray, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/sqlite/client.ts';
import { connectionLeases, instances } from '../../db/sqlite/schema.ts';
import type { InstanceStore } from '../types.ts';

/**
 * Instances and connection leases on SQLite. The file's write lock (BEGIN IMMEDIATE) makes an
 * acquire's select-then-lease atomic against another process on the same file.
 */
export function createSqliteInstanceStore(db: Db): InstanceStore {
  const immediate = <T>(fn: () => T): T => db.transaction(fn, { behavior: 'immediate' });
  // A released lease keeps its owner (the last one, for acquire's previousOwner) but no expiry.
  const isFreeAt = (now: number) => or(isNull(connectionLeases.expiresAt), lte(connectionLeases.expiresAt, now));

  return {
    async heartbeat(instance, now) {
      db.insert(instances)
        .values({ ...instance, heartbeatAt: now })
        .onConflictDoUpdate({ target: instances.id, set: { heartbeatAt: now } })
        .run();
    },

    async live(since, now) {
      const held = db
        .select({ owner: connectionLeases.owner, held: count().as('held') })
        .from(connectionLeases)
        .where(gt(connectionLeases.expiresAt, now))
        .groupBy(connectionLeases.owner)
        .as('held');
      const rows = db
        .select({ instance: instances, held: held.held })
        .from(instances)
        .leftJoin(held, eq(held.owner, instances.id))
        .where(sql`${instances.heartbeatAt} >= ${since}`)
        .orderBy(asc(instances.startedAt), asc(instances.id))
        .all();
      return rows.map((r) => ({ ...r.instance, connectionsHeld: r.held ?? 0 }));
    },

    async addConnections(connectionIds) {
      if (connectionIds.length === 0) return;
      db.insert(connectionLeases)
        .values(connectionIds.map((connectionId) => ({ connectionId })))
        .onConflictDoNothing()
        .run();
    },

    async connectionCount() {
      return db.select({ n: count() }).from(connectionLeases).get()!.n;
    },

    async renew(owner, expiresAt) {
      return db
        .update(connectionLeases)
        .set({ expiresAt })
        .where(and(eq(connectionLeases.owner, owner), isNotNull(connectionLeases.expiresAt)))
        .returning({ id: connectionLeases.connectionId })
        .all()
        .map((r) => r.id)
        .sort();
    },

    async acquire({ owner, now, expiresAt, limit }) {
      if (limit <= 0) return [];
      return immediate(() => {
        const free = db
          .select({ connectionId: connectionLeases.connectionId, previousOwner: connectionLeases.owner })
          .from(connectionLeases)
          .where(isFreeAt(now))
          .orderBy(asc(connectionLeases.connectionId))
          .limit(limit)
          .all();
        if (free.length === 0) return [];
        db.update(connectionLeases).set({ owner, expiresAt }).where(inArray(connectionLeases.connectionId, free.map((f) => f.connectionId))).run();
        return free;
      });
    },

    async release(owner, connectionIds) {
      if (connectionIds?.length === 0) return;
      const mine = eq(connectionLeases.owner, owner);
      db.update(connectionLeases)
        .set({ expiresAt: null })
        .where(connectionIds ? and(mine, inArray(connectionLeases.connectionId, connectionIds)) : mine)
        .run();
    },

    async remove(id) {
      immediate(() => {
        db.update(connectionLeases).set({ expiresAt: null }).where(eq(connectionLeases.owner, id)).run();
        db.delete(instances).where(eq(instances.id, id)).run();
      });
    },

    async prune(before) {
      return db.delete(instances).where(lt(instances.heartbeatAt, before)).run().changes;
    },
  };
}
