import { z } from 'zod';

/**
 * Request body of create and update (contract §2.1). The schema marks nothing required, so
 * neither does this one; the ranges are the SDK's and are enforced here because OFAuth would
 * reject the same values with a 400 anyway.
 */
export interface MassMessageBody {
  text?: string;
  mediaItems?: (number | string)[];
  price?: number | null;
  previewMediaCount?: number | null;
  isLockedText?: boolean | null;
  isMarkdown?: boolean | null;
  isForwardedMessage?: boolean | null;
  releaseForms?: { users?: number[]; partners?: number[]; guests?: number[] };
  userTags?: number[];
  scheduledDate?: string | null;
  userIds?: (number | string)[];
  userLists?: (number | string)[];
  excludeUserLists?: (number | string)[];
  subscribedAfterDate?: string | null;
}

export type StatsType = 'scheduled' | 'unsent' | 'sent';

/** The three stats lists, in lifecycle order. */
export const statsTypes: readonly StatsType[] = ['scheduled', 'unsent', 'sent'];

/** Create/update answer (contract §2.2), normalised. */
export interface QueueStatus {
  id: number;
  date: string | null;
  isReady?: boolean;
  isDone?: boolean;
  total?: number;
  pending?: number;
  canUnsend?: boolean;
  unsendSeconds?: number;
  hasError?: boolean;
  isCanceled?: boolean;
}

/** One mass message as the stats list, get and delete return it (contract §2.3), normalised. */
export interface StatsItem {
  id: number;
  queueId: number | null;
  /** As OFAuth returns it: usually HTML such as `<p>…</p>`. */
  text: string;
  date: string | null;
  createdAt: string | null;
  sentCount: number | null;
  viewedCount: number | null;
  purchasedCount: number | null;
  /** Parsed from OFAuth's string ("5.00"); 0 when the item says it is free and gives no price. */
  price: number | null;
  mediaCount: number | null;
  isCanceled: boolean;
  hasError: boolean;
  canUnsend: boolean | null;
  /** Seconds left in the unsend window, when the item says. */
  unsendSeconds?: number | null;
  isFree: boolean | null;
}

export interface StatsPage {
  list: StatsItem[];
  hasMore: boolean;
}

export interface UserList {
  /** Passed back unchanged into userLists/excludeUserLists: OFAuth types it string | number. */
  id: string | number;
  name: string;
  type: string | null;
  usersCount: number | null;
}

export interface UserListPage {
  list: UserList[];
  hasMore: boolean;
}

/** One page of a mass message's buyers (contract §3.6), paged by `marker`. */
export interface BuyersPage {
  buyerIds: number[];
  hasMore: boolean;
  /** The cursor for the next page; null when OFAuth gave none (then paged by offset). */
  nextMarker: string | null;
}

/** The chat list's filters (contract §3.11): one `filter` per request is assumed, or a user list. */
export interface ChatFilterQuery {
  filter?: 'priority' | 'unread' | 'who_tipped';
  userListId?: number | string;
}

/** One chat of GET /v2/access/chats, reduced to what audiences need: the fan (`withUser.id`). */
export interface ChatItem {
  fanId: number;
}

export interface ChatPage {
  list: ChatItem[];
  hasMore: boolean;
  /** OFAuth's next offset when it gives one (SDK iterators prefer it to offset + list.length). */
  nextOffset: number | null;
}

export interface DeleteResult {
  success: boolean;
  queue: StatsItem | null;
}

const positiveIntSchema = z.number().int().positive();
/** A vault/user/list reference: an int > 0 or a non-empty string (a numeric string, an upload id, a URL). */
const referenceSchema = z.union([positiveIntSchema, z.string().min(1)]);
const idArraySchema = z.array(positiveIntSchema);

/** Release-form participants; every id > 0. */
export const releaseFormsSchema = z.object({
  users: idArraySchema.optional(),
  partners: idArraySchema.optional(),
  guests: idArraySchema.optional(),
});

/** Contract §2.1 body; the simulator validates with it and the client checks bodies before sending. */
export const massMessageBodySchema: z.ZodType<MassMessageBody> = z.object({
  text: z.string().max(10_000).optional(),
  mediaItems: z.array(referenceSchema).optional(),
  price: z.number().min(0).max(200).nullish(),
  previewMediaCount: z.number().int().min(0).nullish(),
  isLockedText: z.boolean().nullish(),
  isMarkdown: z.boolean().nullish(),
  isForwardedMessage: z.boolean().nullish(),
  releaseForms: releaseFormsSchema.optional(),
  userTags: idArraySchema.optional(),
  scheduledDate: z.string().nullish(),
  userIds: z.array(referenceSchema).optional(),
  userLists: z.array(referenceSchema).optional(),
  excludeUserLists: z.array(referenceSchema).optional(),
  subscribedAfterDate: z.string().nullish(),
});

/** `type` query of the stats list. */
export const statsTypeSchema = z.enum(['scheduled', 'unsent', 'sent']);

/**
 * Fanout's own assumption (contract §2.1, [UNSPECIFIED]): a mass message needs at least one
 * recipient source. OFAuth may accept an empty audience, so callers validate with this too.
 */
export function hasRecipients(body: MassMessageBody): boolean {
  return (body.userIds?.length ?? 0) > 0 || (body.userLists?.length ?? 0) > 0;
}
