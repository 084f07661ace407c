import { z } from 'zod';
import type { BuyersPage, ChatPage, DeleteResult, QueueStatus, StatsItem, StatsPage, UserList, UserListPage } from './schemas.ts';

/*
 * Response parsing is deliberately lenient: the queue family's answers are undocumented and the
 * mass-messages ones come from generated SDK schemas that disagree with the examples. Only what
 * the scheduler cannot work without (an id) is required; everything else degrades to null.
 */

function toFiniteNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value.trim());
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

function toBoolean(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 'true') return true;
  if (value === 0 || value === 'false') return false;
  return null;
}

/** Dates arrive as ISO strings; an epoch number (seconds or ms) is converted rather than dropped. */
function toDateString(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) {
    const ms = value < 1e11 ? value * 1000 : value;
    return new Date(ms).toISOString();
  }
  return null;
}

/** An id as a number or a numeric string; always normalised to a number. */
export const numericIdSchema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\s*\d+\s*$/)])
  .transform((value) => Number(value));

const numberish = z.unknown().optional().transform(toFiniteNumber);
const booleanish = z.unknown().optional().transform(toBoolean);
const dateish = z.unknown().optional().transform(toDateString);

const queueStatusRawSchema = z.object({
  id: numericIdSchema,
  date: dateish,
  isReady: booleanish,
  isDone: booleanish,
  total: numberish,
  pending: numberish,
  canUnsend: booleanish,
  unsendSeconds: numberish,
  hasError: booleanish,
  isCanceled: booleanish,
});

/** Create/update answer; optional fields that are absent or unreadable are left out. */
export const queueStatusSchema: z.ZodType<QueueStatus> = queueStatusRawSchema.transform((raw) => {
  const status: QueueStatus = { id: raw.id, date: raw.date };
  for (const key of ['isReady', 'isDone', 'canUnsend', 'hasError', 'isCanceled'] as const) {
    const value = raw[key];
    if (value !== null) status[key] = value;
  }
  for (const key of ['total', 'pending', 'unsendSeconds'] as const) {
    const value = raw[key];
    if (value !== null) status[key] = value;
  }
  return status;
});

/** A stats/get/delete message item (contract §2.3), normalised to StatsItem. */
export const statsItemSchema: z.ZodType<StatsItem> = z
  .object({
    id: numericIdSchema,
    queueId: z.unknown().optional().transform((v) => numericIdSchema.safeParse(v).data ?? null),
    text: z.unknown().optional().transform((v) => (typeof v === 'string' ? v : '')),
    date: dateish,
    createdAt: dateish,
    sentCount: numberish,
    viewedCount: numberish,
    purchasedCount: numberish,
    price: numberish,
    mediaCount: numberish,
    media: z.unknown().optional(),
    isCanceled: booleanish,
    hasError: booleanish,
    canUnsend: booleanish,
    unsendSeconds: numberish,
    isFree: booleanish,
  })
  .transform((raw) => ({
    id: raw.id,
    queueId: raw.queueId,
    text: raw.text,
    date: raw.date,
    createdAt: raw.createdAt,
    sentCount: raw.sentCount,
    viewedCount: raw.viewedCount,
    // Upstream omits purchasedCount (and price) on free messages: nothing can have been bought.
    purchasedCount: raw.purchasedCount ?? (raw.isFree === true ? 0 : null),
    // Free messages omit price in upstream examples; say 0 only when the item says it is free.
    price: raw.price ?? (raw.isFree === true ? 0 : null),
    mediaCount: raw.mediaCount ?? (Array.isArray(raw.media) ? raw.media.length : null),
    isCanceled: raw.isCanceled ?? false,
    hasError: raw.hasError ?? false,
    canUnsend: raw.canUnsend,
    // Only when given, so items read before it was parsed compare as they did.
    ...(raw.unsendSeconds !== null ? { unsendSeconds: raw.unsendSeconds } : {}),
    isFree: raw.isFree,
  }));

/** A user list (contract §3.9); the id is kept as OFAuth typed it. */
export const userListSchema: z.ZodType<UserList> = z
  .object({
    id: z.union([z.number(), z.string().min(1)]),
    name: z.unknown().optional().transform((v) => (typeof v === 'string' ? v : '')),
    type: z.unknown().optional().transform((v) => (typeof v === 'string' ? v : null)),
    usersCount: numberish,
  })
  .transform((raw) => ({ id: raw.id, name: raw.name, type: raw.type, usersCount: raw.usersCount }));

/**
 * A page is documented as `{list, hasMore}`; the guide iterates the body as a bare array and the
 * analytics endpoints use `items`. A bare array has no hasMore, so a full page is taken to mean
 * there may be more (one extra empty request at worst).
 */
function pageSchema<T>(itemSchema: z.ZodType<T>) {
  const wrapped = z.object({
    list: z.array(itemSchema).optional(),
    items: z.array(itemSchema).optional(),
    hasMore: z.unknown().optional().transform(toBoolean),
  });
  return z.union([z.array(itemSchema), wrapped]);
}

export function toPage<T>(parsed: T[] | { list?: T[]; items?: T[]; hasMore: boolean | null }, limit: number) {
  if (Array.isArray(parsed)) return { list: parsed, hasMore: parsed.length >= limit };
  const list = parsed.list ?? parsed.items ?? [];
  return { list, hasMore: parsed.hasMore ?? list.length >= limit };
}

const statsPageRawSchema = pageSchema(statsItemSchema);
const userListPageRawSchema = pageSchema(userListSchema);

/** Unwraps a `{data: …}` envelope, which some OFAuth proxies add; harmless when absent. */
export function unwrapEnvelope(body: unknown): unknown {
  if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'data' in body) {
    const keys = Object.keys(body);
    if (keys.every((k) => k === 'data' || k === 'requestId')) return (body as { data: unknown }).data;
  }
  return body;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: string };

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function run<T>(schema: z.ZodType<T>, body: unknown): ParseResult<T> {
  const result = schema.safeParse(unwrapEnvelope(body));
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: describeIssues(result.error) };
}

/** Parses a create/update answer. */
export function parseQueueStatus(body: unknown): ParseResult<QueueStatus> {
  return run(queueStatusSchema, body);
}

/** Parses one message (get). */
export function parseStatsItem(body: unknown): ParseResult<StatsItem> {
  return run(statsItemSchema, body);
}

/** Parses a stats page; `limit` is what was asked for, used when the body has no hasMore. */
export function parseStatsPage(body: unknown, limit: number): ParseResult<StatsPage> {
  const result = run(statsPageRawSchema, body);
  return result.ok ? { ok: true, value: toPage(result.value, limit) } : result;
}

/** Parses a user-list page. */
export function parseUserListPage(body: unknown, limit: number): ParseResult<UserListPage> {
  const result = run(userListPageRawSchema, body);
  return result.ok ? { ok: true, value: toPage(result.value, limit) } : result;
}

/**
 * A chat: only `withUser.id` is relied on (the contract's one required field); a numeric string
 * id is accepted. Chats without a readable fan id are dropped rather than failing the page.
 */
const chatItemSchema = z
  .object({ withUser: z.object({ id: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d{0,15}$/)]) }).optional() })
  .transform((raw) => (raw.withUser === undefined ? null : { fanId: Number(raw.withUser.id) }));
const chatPageRawSchema = z.union([
  z.array(z.unknown()),
  z.object({ list: z.array(z.unknown()).optional(), items: z.array(z.unknown()).optional(), hasMore: z.unknown().optional().transform(toBoolean), nextOffset: numberish }),
]);

/** Parses a chat page; `limit` is what was asked for, used when the body has no hasMore. */
export function parseChatPage(body: unknown, limit: number): ParseResult<ChatPage> {
  const result = run(chatPageRawSchema, body);
  if (!result.ok) return result;
  const raw = result.value;
  const items = Array.isArray(raw) ? raw : (raw.list ?? raw.items ?? []);
  const list = items.flatMap((item) => chatItemSchema.safeParse(item).data ?? []).filter((c) => c !== null);
  const hasMore = Array.isArray(raw) ? items.length >= limit : (raw.hasMore ?? items.length >= limit);
  const nextOffset = Array.isArray(raw) ? null : raw.nextOffset;
  return { ok: true, value: { list, hasMore, nextOffset } };
}

/** Parses one user list. */
export function parseUserList(body: unknown): ParseResult<UserList> {
  return run(userListSchema, body);
}

/**
 * Parses a delete answer `{success, queue?}`. A 2xx without `success` (204, `{}`) counts as
 * success, as the SDKs map 204 to `{}`; an unreadable `queue` becomes null rather than failing a
 * delete that already happened.
 */
export function parseDeleteResult(body: unknown): ParseResult<DeleteResult> {
  const unwrapped = unwrapEnvelope(body);
  if (unwrapped === null || unwrapped === undefined || typeof unwrapped !== 'object' || Array.isArray(unwrapped)) {
    return { ok: true, value: { success: true, queue: null } };
  }
  const record = unwrapped as { success?: unknown; queue?: unknown };
  const success = toBoolean(record.success) ?? true;
  const queue = record.queue === undefined || record.queue === null ? null : (statsItemSchema.safeParse(record.queue).data ?? null);
  return { ok: true, value: { success, queue } };
}

const buyerSchema = z.object({ id: numericIdSchema });
const buyersPageRawSchema = z.union([
  z.array(buyerSchema),
  z.object({
    list: z.array(buyerSchema).optional(),
    items: z.array(buyerSchema).optional(),
    hasMore: z.unknown().optional().transform(toBoolean),
    // The SDK names it nextMarker, docs-next marker; a number is taken as its text.
    nextMarker: z.unknown().optional(),
    marker: z.unknown().optional(),
  }),
]);

const markerOf = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null);

/** Parses a buyers page; without hasMore, a full page is taken to mean there may be more. */
export function parseBuyersPage(body: unknown, limit: number): ParseResult<BuyersPage> {
  const result = run(buyersPageRawSchema, body);
  if (!result.ok) return result;
  const raw = result.value;
  if (Array.isArray(raw)) return { ok: true, value: { buyerIds: raw.map((b) => b.id), hasMore: raw.length >= limit, nextMarker: null } };
  const list = raw.list ?? raw.items ?? [];
  return { ok: true, value: { buyerIds: list.map((b) => b.id), hasMore: raw.hasMore ?? list.length >= limit, nextMarker: markerOf(raw.nextMarker) ?? markerOf(raw.marker) } };
}

/** Parses an add-user answer `{list, userState}`; any 2xx means the user is in the list (see the client). */
export function parseAddUserResult(body: unknown): ParseResult<{ hasUser: boolean | null }> {
  const unwrapped = unwrapEnvelope(body) as { userState?: { hasUser?: unknown } } | null;
  return { ok: true, value: { hasUser: toBoolean(unwrapped?.userState?.hasUser) } };
}
