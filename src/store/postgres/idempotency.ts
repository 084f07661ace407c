import { and, eq, lt } from 'drizzle-orm';
import { IDEMPOTENCY_TTL_MS } from '../../campaigns/idempotency.ts';
import type { PgDb, PgTx } from '../../db/postgres/client.ts';
import { idempotencyKeys } from '../../db/postgres/schema.ts';
import { IdempotencyMismatchError } from '../../errors.ts';
import type { IdempotencyInput, StoredResponse } from '../types.ts';

/*
 * Idempotency-Key records, scoped per token. A create claims its key first, by inserting the
 * key's row (ON CONFLICT DO NOTHING) in its own transaction: a concurrent create with the same
 * key waits on that row's unique entry until the first commits, then finds the committed
 * response and answers with it (or rolls back, and the key is free again). So the race resolves
 * on the unique key, never in a 500.
 */

const key = (input: IdempotencyInput) => and(eq(idempotencyKeys.tokenId, input.tokenId), eq(idempotencyKeys.key, input.key));

/** Forgets keys past their lifetime; each statement on its own, outside any create's locks. */
export async function pruneIdempotent(db: PgDb, now: number): Promise<void> {
  await db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS));
}

/** Claims the key for this transaction; the stored response when it was used before (throws on another body). */
export async function claimIdempotent(tx: PgTx, input: IdempotencyInput, now: number): Promise<StoredResponse | null> {
  // An expired row of this key (the prune is best effort) counts as absent, as on SQLite.
  await tx.delete(idempotencyKeys).where(and(key(input), lt(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)));
  const claimed = await tx
    .insert(idempotencyKeys)
    .values({ tokenId: input.tokenId, key: input.key, requestHash: input.requestHash, statusCode: 0, responseBody: '', createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  if (claimed.length > 0) return null;
  const [row] = await tx.select().from(idempotencyKeys).where(key(input));
  // Gone again between the two statements (pruned by another create): a rare race; the client retries.
  if (!row) throw new Error('idempotency key vanished while being claimed');
  if (row.requestHash !== input.requestHash) throw new IdempotencyMismatchError();
  return { statusCode: row.statusCode, body: JSON.parse(row.responseBody) };
}

/** Stores the response on the claimed key, in the create's transaction. */
export async function rememberIdempotent(tx: PgTx, input: IdempotencyInput, response: StoredResponse): Promise<void> {
  await tx
    .update(idempotencyKeys)
    .set({ statusCode: response.statusCode, responseBody: JSON.stringify(response.body) })
    .where(key(input));
}
