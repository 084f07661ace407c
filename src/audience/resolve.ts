import { createHash } from 'node:crypto';
import type { ChatFilter } from '../campaigns/model.ts';
import type { OfauthClient } from '../ofauth/client.ts';

/** OFAuth's documented maximum page of chats. */
const CHAT_PAGE_LIMIT = 20;
/** The lease is renewed after this many pages, so a long resolution never outlives it. */
export const PAGES_PER_LEASE_RENEWAL = 10;

export interface ChatResolution {
  /** De-duplicated, ascending. */
  fanIds: number[];
  pages: number;
  /** True when reading stopped because more than maxFans fans were found. */
  isTooLarge: boolean;
}

export interface ResolveOptions {
  maxFans: number;
  signal?: AbortSignal;
  /** Called every PAGES_PER_LEASE_RENEWAL pages; false stops the resolution (the lease is gone). */
  keepLease?: () => Promise<boolean>;
}

/** Names the chat filters a resolution was made from: an edit to them makes it stale. */
export function audienceKey(filters: readonly ChatFilter[]): string {
  return createHash('sha256').update([...filters].sort().join(',')).digest('hex').slice(0, 16);
}

export class LeaseLostError extends Error {
  constructor() {
    super('the send\'s lease was lost while its audience was being resolved');
    this.name = 'LeaseLostError';
  }
}

/**
 * Pages GET /v2/access/chats once per filter (the contract assumes one `filter` per request)
 * and returns the union of the chats' fans. Every page goes through the client, so through the
 * connection's rate-limit bucket: a large audience is paced by it, never bursts past it.
 *
 * The list is read most recent activity first: a chat with new activity moves to the top,
 * which only shifts what is still unread down (read again, de-duplicated), never up past us;
 * only a chat leaving the filter (an unread chat read) can move one up unseen, and that fan no
 * longer qualifies anyway.
 */
export async function resolveChatFilters(client: OfauthClient, connectionId: string, filters: readonly ChatFilter[], options: ResolveOptions): Promise<ChatResolution> {
  const fans = new Set<number>();
  let pages = 0;
  // Fans are only ever added, so a page count past this means OFAuth keeps answering hasMore
  // with nothing new: stop rather than loop.
  const maxPagesPerFilter = Math.ceil(options.maxFans / CHAT_PAGE_LIMIT) * 2 + 10;
  for (const filter of filters) {
    let offset = 0;
    for (let page = 0; ; page++) {
      if (page >= maxPagesPerFilter) throw new Error(`more than ${maxPagesPerFilter} pages of ${filter} chats; giving up this attempt`);
      if (pages > 0 && pages % PAGES_PER_LEASE_RENEWAL === 0 && options.keepLease && !(await options.keepLease())) throw new LeaseLostError();
      const result = await client.listChats(connectionId, { filter, limit: CHAT_PAGE_LIMIT, offset, order: 'recent' }, { signal: options.signal });
      pages++;
      for (const chat of result.list) fans.add(chat.fanId);
      if (fans.size > options.maxFans) return { fanIds: [...fans].sort((a, b) => a - b), pages, isTooLarge: true };
      if (!result.hasMore || result.list.length === 0) break;
      offset = result.nextOffset !== null && result.nextOffset > offset ? result.nextOffset : offset + result.list.length;
    }
  }
  return { fanIds: [...fans].sort((a, b) => a - b), pages, isTooLarge: false };
}
