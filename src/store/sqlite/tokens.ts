import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/sqlite/client.ts';
import { apiTokens, tokenVersions } from '../../db/sqlite/schema.ts';
import type { TokenStore } from '../types.ts';

export function createSqliteTokenStore(db: Db): TokenStore {
  // Prepared once: every authenticated request whose principal is not cached runs this lookup.
  const activeByHash = db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.secretHash, sql.placeholder('hash')), isNull(apiTokens.revokedAt)))
    .prepare();
  // Changes whenever another connection (another process on this file) commits; never for this
  // connection's own commits. See https://sqlite.org/pragma.html#pragma_data_version.
  const dataVersion = db.$client.prepare('PRAGMA data_version').pluck();
  // data_version moves on any other connection's commit (another instance's sync tick, say);
  // only a change to the tokens themselves may empty the principal cache. Tokens are only ever
  // inserted or revoked, so their count and the revocations' count and sum tell.
  const tokensFingerprint = db.$client
    .prepare("SELECT count(*) || ':' || count(revoked_at) || ':' || total(revoked_at) FROM api_tokens")
    .pluck();
  // Kept in step for a PostgreSQL instance reading the same model (and for parity); this store
  // itself reads data_version, which needs no write at all.
  const bumpVersion = () =>
    db.insert(tokenVersions)
      .values({ id: 1, version: 1 })
      .onConflictDoUpdate({ target: tokenVersions.id, set: { version: sql`${tokenVersions.version} + 1` } })
      .run();
  let seenDataVersion = -1;
  let seenFingerprint = '';
  let version = 0;
  return {
    async version() {
      const current = dataVersion.get() as number;
      if (current !== seenDataVersion) {
        seenDataVersion = current;
        const fingerprint = tokensFingerprint.get() as string;
        if (fingerprint !== seenFingerprint) {
          seenFingerprint = fingerprint;
          version++;
        }
      }
      return version;
    },
    async insert(token) {
      return db.transaction(() => {
        bumpVersion();
        return db.insert(apiTokens).values(token).returning().get();
      });
    },
    async findActiveByHash(secretHash) {
      return activeByHash.get({ hash: secretHash }) ?? null;
    },
    async findActiveByName(name) {
      return db.select().from(apiTokens).where(and(eq(apiTokens.name, name), isNull(apiTokens.revokedAt))).get() ?? null;
    },
    async listActive() {
      return db.select().from(apiTokens).where(isNull(apiTokens.revokedAt)).orderBy(asc(apiTokens.id)).all();
    },
    async revoke(id, at) {
      return db.transaction(() => {
        const result = db.update(apiTokens).set({ revokedAt: at }).where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt))).run();
        if (result.changes > 0) bumpVersion();
        return result.changes > 0;
      });
    },
  };
}
