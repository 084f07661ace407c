import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { PgDb, PgTx } from '../../db/postgres/client.ts';
import { apiTokens, tokenVersions } from '../../db/postgres/schema.ts';
import { TOKEN_VERSION_POLL_MS, type TokenStore } from '../types.ts';
import { transaction } from './write.ts';

/*
 * API tokens (the twin of ../sqlite/tokens.ts). PostgreSQL has no PRAGMA data_version, so every
 * insert and revoke bumps one version row (token_versions, id 1) in its own transaction, and
 * version() reads it: a campaign written by another instance leaves it alone, and with a clock
 * it is read at most once per TOKEN_VERSION_POLL_MS, so a request costs no query between polls
 * while a revocation through another instance is still refused everywhere within that time.
 */
export function createPostgresTokenStore(db: PgDb): TokenStore {
  const activeByHash = db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.secretHash, sql.placeholder('hash')), isNull(apiTokens.revokedAt)))
    .prepare('fanout_token_by_hash');
  const versionRow = db.select({ version: tokenVersions.version }).from(tokenVersions).where(eq(tokenVersions.id, 1)).prepare('fanout_token_version');
  const bumpVersion = (tx: PgTx) =>
    tx
      .insert(tokenVersions)
      .values({ id: 1, version: 1 })
      .onConflictDoUpdate({ target: tokenVersions.id, set: { version: sql`${tokenVersions.version} + 1` } });
  let seenVersion: number | null = null;
  let polledAt = Number.NEGATIVE_INFINITY;
  let version = 0;
  return {
    async version(now) {
      if (now !== undefined && seenVersion !== null && now - polledAt < TOKEN_VERSION_POLL_MS && now >= polledAt) return version;
      const [row] = await versionRow.execute();
      const current = row?.version ?? 0;
      if (current !== seenVersion) {
        seenVersion = current;
        version++;
      }
      if (now !== undefined) polledAt = now;
      return version;
    },
    async insert(token) {
      return transaction(db, async (tx) => {
        await bumpVersion(tx);
        const [row] = await tx.insert(apiTokens).values(token).returning();
        return row!;
      });
    },
    async findActiveByHash(secretHash) {
      const [row] = await activeByHash.execute({ hash: secretHash });
      return row ?? null;
    },
    async findActiveByName(name) {
      const [row] = await db.select().from(apiTokens).where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt))).limit(1);
      return row ?? null;
    },
    async listActive() {
      return db.select().from(apiTokens).where(isNull(apiTokens.revokedAt)).orderBy(asc(apiTokens.id));
    },
    async revoke(id, at) {
      return transaction(db, async (tx) => {
        const revoked = await tx
          .update(apiTokens)
          .set({ revokedAt: at })
          .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
          .returning({ id: apiTokens.id });
        if (revoked.length > 0) await bumpVersion(tx);
        return revoked.length > 0;
      });
    },
  };
}
