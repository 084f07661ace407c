import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { apiTokens } from '../db/schema.ts';

export type TokenRow = typeof apiTokens.$inferSelect;

/** Queries on api_tokens; knows SQL, not HTTP. */
export function createTokenRepository(db: Db) {
  // Prepared once: every authenticated request runs this lookup.
  const activeByHash = db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.secretHash, sql.placeholder('hash')), isNull(apiTokens.revokedAt)))
    .prepare();
  // Changes whenever another connection (another process on this file) commits; never for this
  // connection's own commits. See https://sqlite.org/pragma.html#pragma_data_version.
  const dataVersion = db.$client.prepare('PRAGMA data_version').pluck();
  return {
    /** A number that differs from the last one returned iff another connection committed since. */
    dataVersion(): number {
      return dataVersion.get() as number;
    },
    insert(row: typeof apiTokens.$inferInsert): TokenRow {
      return db.insert(apiTokens).values(row).returning().get();
    },
    findActiveByHash(secretHash: string): TokenRow | undefined {
      return activeByHash.get({ hash: secretHash });
    },
    findActiveByName(name: string): TokenRow | undefined {
      return db
        .select()
        .from(apiTokens)
        .where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt)))
        .get();
    },
    listActive(): TokenRow[] {
      return db.select().from(apiTokens).where(isNull(apiTokens.revokedAt)).orderBy(asc(apiTokens.id)).all();
    },
    revoke(id: string, at: number): boolean {
      const result = db
        .update(apiTokens)
        .set({ revokedAt: at })
        .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
        .run();
      return result.changes > 0;
    },
  };
}

export type TokenRepository = ReturnType<typeof createTokenRepository>;
