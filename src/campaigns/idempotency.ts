import { createHash } from 'node:crypto';
import { and, eq, lt } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema.ts';
import { IdempotencyMismatchError } from '../errors.ts';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Stable JSON: object keys sorted, so equal bodies hash equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function hashRequest(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/**
 * Idempotency-Key records, scoped per token. Callers must run lookup and remember inside one
 * write transaction so two concurrent requests with one key cannot both miss.
 */
export function createIdempotencyStore(db: Db) {
  return {
    /** The first response for this key, or null; a different body under the same key is a 422. */
    lookup(tokenId: string, key: string, requestHash: string, now: number): StoredResponse | null {
      db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, now - IDEMPOTENCY_TTL_MS)).run();
      const row = db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.tokenId, tokenId), eq(idempotencyKeys.key, key)))
        .get();
      if (!row) return null;
      if (row.requestHash !== requestHash) throw new IdempotencyMismatchError();
      return { statusCode: row.statusCode, body: JSON.parse(row.responseBody) };
    },

    remember(tokenId: string, key: string, requestHash: string, response: StoredResponse, now: number): void {
      db.insert(idempotencyKeys)
        .values({ tokenId, key, requestHash, statusCode: response.statusCode, responseBody: JSON.stringify(response.body), createdAt: now })
        .run();
    },
  };
}

export type IdempotencyStore = ReturnType<typeof createIdempotencyStore>;
