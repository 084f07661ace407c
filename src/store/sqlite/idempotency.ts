import { and, eq, lt } from 'drizzle-orm';
import { IDEMPOTENCY_TTL_MS } from '../../campaigns/idempotency.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { idempotencyKeys } from '../../db/sqlite/schema.ts';
import { IdempotencyMismatchError } from '../../errors.ts';
import type { IdempotencyInput, StoredResponse } from '../types.ts';

/**
 * Idempotency-Key records, scoped per token. Run inside the create's write transaction, so two
 * concurrent requests with one key cannot both miss.
 */
export function lookupIdempotent(db: Db, input: IdempotencyInput, now: number): StoredResponse | null {
  db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)).run();
  const row = db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tokenId, input.tokenId), eq(idempotencyKeys.key, input.key)))
    .get();
  if (!row) return null;
  if (row.requestHash !== input.requestHash) throw new IdempotencyMismatchError();
  return { statusCode: row.statusCode, body: JSON.parse(row.responseBody) };
}

export function rememberIdempotent(db: Db, input: IdempotencyInput, response: StoredResponse, now: number): void {
  db.insert(idempotencyKeys)
    .values({ tokenId: input.tokenId, key: input.key, requestHash: input.requestHash, statusCode: response.statusCode, responseBody: JSON.stringify(response.body), createdAt: now })
    .run();
}
