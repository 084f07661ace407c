import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { PgDb } from '../../db/postgres/client.ts';
import { apiTokens } from '../../db/postgres/schema.ts';
import type { TokenStore } from '../types.ts';

/*
 * API tokens (the twin of ../sqlite/tokens.ts). PostgreSQL has no PRAGMA data_version, so the
 * version comes from the tokens themselves: they are only ever inserted or revoked, so their
 * count, the revocations' count and the revocation times' sum change with every change to them,
 * and with nothing else (a campaign written by another instance leaves it alone). One small
 * aggregate per call over a table of a few rows.
 */
export function createPostgresTokenStore(db: PgDb): TokenStore {
  const activeByHash = db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.secretHash, sql.placeholder('hash')), isNull(apiTokens.revokedAt)))
    .prepare('fanout_token_by_hash');
  const fingerprint = db
    .select({ fingerprint: sql<string>`count(*) || ':' || count(${apiTokens.revokedAt}) || ':' || coalesce(sum(${apiTokens.revokedAt}), 0)` })
    .from(apiTokens)
    .prepare('fanout_tokens_fingerprint');
  let seenFingerprint: string | null = null;
  let version = 0;
  return {
    async version() {
      const [row] = await fingerprint.execute();
      if (row!.fingerprint !== seenFingerprint) {
        seenFingerprint = row!.fingerprint;
        version++;
      }
      return version;
    },
    async insert(token) {
      const [row] = await db.insert(apiTokens).values(token).returning();
      return row!;
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
      const revoked = await db
        .update(apiTokens)
        .set({ revokedAt: at })
        .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
        .returning({ id: apiTokens.id });
      return revoked.length > 0;
    },
  };
}
