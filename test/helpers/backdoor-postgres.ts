import { createHash } from 'node:crypto';
import { eq, sql, type SQL } from 'drizzle-orm';
import type { PgDb } from '../../src/db/postgres/client.ts';
import { campaigns, sends } from '../../src/db/postgres/schema.ts';
import type { LifecycleSettings } from '../../src/sends/lifecycle.ts';
import { lockCampaign, lockSend, transaction, writeSendAndCampaign } from '../../src/store/postgres/write.ts';
import type { Backdoor } from './backdoor.ts';

/** Tables as "schema"."name": the app's (public) and drizzle's migration bookkeeping (drizzle). */
async function qualifiedTables(db: PgDb): Promise<Array<{ schema: string; name: string }>> {
  const result = await db.execute<{ schema: string; name: string }>(
    sql`SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_schema IN ('public', 'drizzle') AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  return result.rows;
}

const quoted = (t: { schema: string; name: string }) => sql.raw(`"${t.schema}"."${t.name}"`);

/**
 * Every table's rows, ordered by their whole content: PostgreSQL has no rowid, and physical
 * order (ctid) moves when a row is rewritten, even with its own values.
 */
async function snapshot(db: PgDb, extra: SQL = sql``): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of await qualifiedTables(db)) {
    const rows = await db.execute(sql`SELECT ${extra} r.* FROM ${quoted(table)} AS r ORDER BY r::text`);
    out[table.name] = rows.rows;
  }
  return out;
}

/** The PostgreSQL side of the tests' backdoor (see ./backdoor.ts for what each method means). */
export function postgresBackdoor(db: PgDb, settings: LifecycleSettings): Backdoor {
  return {
    backend: 'postgres',
    tableNames: async () => (await qualifiedTables(db)).map((t) => t.name),
    snapshot: () => snapshot(db),
    async rowCounts() {
      const out: Record<string, number> = {};
      for (const table of await qualifiedTables(db)) {
        const result = await db.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM ${quoted(table)}`);
        out[table.name] = result.rows[0]!.n;
      }
      return out;
    },
    // Any write makes a new row version (new xmin, new ctid), even one that changes no value.
    writeStamp: async () => createHash('sha256').update(JSON.stringify(await snapshot(db, sql`r.xmin::text AS "__xmin", r.ctid::text AS "__ctid",`))).digest('hex'),
    query: async <T>(statement: SQL) => (await db.execute(statement)).rows as T[],
    campaign: async (id) => (await db.select().from(campaigns).where(eq(campaigns.id, id)))[0],
    async insertCampaign(row) {
      await db.insert(campaigns).values(row);
    },
    async updateCampaign(id, changes) {
      await db.update(campaigns).set(changes).where(eq(campaigns.id, id));
    },
    sendOfCampaign: async (campaignId) => (await db.select().from(sends).where(eq(sends.campaignId, campaignId)).limit(1))[0],
    send: async (id) => (await db.select().from(sends).where(eq(sends.id, id)))[0],
    async insertSend(row) {
      await db.insert(sends).values(row);
    },
    async updateSend(id, changes) {
      const [row] = await db.update(sends).set(changes).where(eq(sends.id, id)).returning();
      if (!row) throw new Error(`no send ${id}`);
      return row;
    },
    async writeSendThroughLifecycle(send, changes, now) {
      await transaction(db, async (tx) => {
        // The store's lock order: campaign, then send.
        const campaign = await lockCampaign(tx, send.campaignId);
        const locked = await lockSend(tx, send.id);
        if (!campaign || !locked) throw new Error(`no send ${send.id} or campaign ${send.campaignId}`);
        await writeSendAndCampaign(tx, campaign, locked, changes, [], now, settings);
      });
    },
    async disconnect() {
      await db.$client.end();
    },
  };
}
