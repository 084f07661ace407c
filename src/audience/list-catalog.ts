import type { Clock } from '../clock.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import type { ConnectionStore } from '../store/types.ts';

/** One of OFAuth's user lists, as audiences use it. */
export interface CatalogList {
  /** As OFAuth typed it (string | number): passed back unchanged. */
  id: string | number;
  name: string;
  /** usersCount; null when OFAuth did not give one. */
  size: number | null;
  type: string | null;
}

export interface CatalogRead {
  lists: CatalogList[];
  /** When OFAuth was read (the cache's age is now - readAt). */
  readAt: number;
}

export interface ListCatalogDeps {
  client: OfauthClient;
  clock: Clock;
  connections: Pick<ConnectionStore, 'find'>;
  /** LISTS_CACHE_TTL. */
  ttlMs: number;
  /** How long a campaign create or edit waits for OFAuth before accepting its lists unchecked. */
  checkTimeoutMs?: number;
  /**
   * Whether this instance may spend the connection's rate budget on a create's list check now:
   * with several instances, only the one holding the connection's lease does, so together they
   * stay within OFAuth's limit. Absent: always.
   */
  maySpend?: (connectionId: string) => Promise<boolean>;
}

const PAGE_LIMIT = 100;
/** 5,000 lists: far beyond what a creator account holds; a longer answer is cut, not looped on. */
const MAX_PAGES = 50;
const DEFAULT_CHECK_TIMEOUT_MS = 3_000;
/**
 * After a failed read, list checks accept without asking for this long: with OFAuth down, each
 * create would otherwise wait for its own failure (up to checkTimeoutMs).
 */
export const CHECK_BACKOFF_MS = 30_000;

/**
 * OFAuth's user lists per connection, read through the client (so through the connection's
 * rate-limit bucket) and cached for LISTS_CACHE_TTL; a failed read is never cached. Concurrent
 * readers of one connection share one read. In memory, per process: each instance pays its own
 * reads, a handful of requests per connection per TTL.
 */
export function createListCatalog(deps: ListCatalogDeps) {
  const cache = new Map<string, CatalogRead>();
  const inFlight = new Map<string, Promise<CatalogRead>>();
  const failedAt = new Map<string, number>();

  async function readAll(connectionId: string, signal?: AbortSignal): Promise<CatalogRead> {
    const lists: CatalogList[] = [];
    for (let page = 0, offset = 0; page < MAX_PAGES; page++) {
      const result = await deps.client.listUserLists(connectionId, { limit: PAGE_LIMIT, offset }, { signal });
      for (const list of result.list) lists.push({ id: list.id, name: list.name, size: list.usersCount, type: list.type });
      if (!result.hasMore || result.list.length === 0) break;
      offset += result.list.length;
    }
    const read = { lists, readAt: deps.clock.now() };
    cache.set(connectionId, read);
    return read;
  }

  function isFresh(connectionId: string): boolean {
    const cached = cache.get(connectionId);
    return cached !== undefined && deps.clock.now() - cached.readAt < deps.ttlMs;
  }

  /** The connection's lists, from the cache while it is fresh; throws what the client throws. */
  async function read(connectionId: string, options: { signal?: AbortSignal } = {}): Promise<CatalogRead> {
    const cached = cache.get(connectionId);
    if (cached && isFresh(connectionId)) return cached;
    let pending = inFlight.get(connectionId);
    if (pending === undefined) {
      pending = readAll(connectionId, options.signal).finally(() => inFlight.delete(connectionId));
      inFlight.set(connectionId, pending);
    }
    return pending;
  }

  /**
   * Which of these list ids OFAuth does not have on the connection; null when OFAuth cannot be
   * asked (the connection is paused, another instance holds its budget and the cache is stale, or
   * the read fails or is slower than checkTimeoutMs): the caller then accepts the ids and lets the
   * sync find out.
   */
  async function findUnknown(connectionId: string, ids: readonly number[]): Promise<number[] | null> {
    if (ids.length === 0) return [];
    const connection = await deps.connections.find(connectionId);
    if (connection?.pausedAt) return null;
    if (!isFresh(connectionId) && deps.maySpend && !(await deps.maySpend(connectionId))) return null;
    const lastFailure = failedAt.get(connectionId);
    if (lastFailure !== undefined && deps.clock.now() - lastFailure < CHECK_BACKOFF_MS && !isFresh(connectionId)) return null;
    let known: CatalogRead;
    try {
      known = await read(connectionId, { signal: AbortSignal.timeout(deps.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS) });
      failedAt.delete(connectionId);
    } catch {
      failedAt.set(connectionId, deps.clock.now());
      return null;
    }
    const names = new Set(known.lists.map((list) => String(list.id)));
    return [...new Set(ids)].filter((id) => !names.has(String(id)));
  }

  /** The cached read of a connection, fresh or not, without asking OFAuth (for estimates). */
  const peek = (connectionId: string): CatalogRead | null => cache.get(connectionId) ?? null;

  return { read, findUnknown, peek };
}

export type ListCatalog = ReturnType<typeof createListCatalog>;
