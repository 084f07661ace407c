import { z } from 'zod';
import { numericIdSchema, toPage, unwrapEnvelope, type ParseResult } from './responses.ts';

/*
 * Chat messages (contract §3.11, seed 003). Lenient like the mass-message parsers: only the id is
 * required. The seed's answer has `cancelSeconds`; whether that is the unsend window is not
 * documented, so canUnsend/unsendSeconds are read when present and cancelSeconds only as a
 * fallback (see windowSecondsOf).
 */

/** Body of POST /v2/access/chats/{userId}/messages (seed 003). */
export interface ChatMessageBody {
  text?: string;
  mediaItems?: (number | string)[];
  price?: number;
  previewMediaCount?: number;
  isLockedText?: boolean;
  isMarkdown?: boolean;
  userTags?: number[];
  releaseForms?: { users?: number[]; partners?: number[]; guests?: number[] };
}

export interface ChatMessage {
  id: number;
  text: string;
  createdAt: string | null;
  price: number | null;
  mediaCount: number | null;
  canUnsend: boolean | null;
  /** Seconds left to unsend, when the answer says (unsendSeconds, else cancelSeconds). */
  unsendSeconds: number | null;
}

export interface ChatMessagePage {
  list: ChatMessage[];
  hasMore: boolean;
}

const num = (v: unknown): number | null => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
};
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : v === 1 || v === 'true' ? true : v === 0 || v === 'false' ? false : null);
const date = (v: unknown): string | null => {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v < 1e11 ? v * 1000 : v).toISOString();
  return null;
};

export const chatMessageSchema: z.ZodType<ChatMessage> = z
  .looseObject({ id: numericIdSchema })
  .transform((raw) => {
    const r = raw as Record<string, unknown> & { id: number };
    const media = Array.isArray(r.media) ? r.media.length : null;
    return {
      id: r.id,
      text: typeof r.text === 'string' ? r.text : '',
      createdAt: date(r.createdAt),
      price: num(r.price),
      mediaCount: num(r.mediaCount) ?? media,
      canUnsend: bool(r.canUnsend),
      unsendSeconds: num(r.unsendSeconds) ?? num(r.cancelSeconds),
    };
  });

const chatPageRawSchema = z.union([
  z.array(chatMessageSchema),
  z.object({ list: z.array(chatMessageSchema).optional(), items: z.array(chatMessageSchema).optional(), hasMore: z.unknown().optional().transform(bool) }),
]);

export function parseChatMessage(body: unknown): ParseResult<ChatMessage> {
  const result = chatMessageSchema.safeParse(unwrapEnvelope(body));
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
}

/** A page of a chat's messages; a bare array is accepted, and hasMore guessed from its length. */
export function parseChatMessagePage(body: unknown, limit: number): ParseResult<ChatMessagePage> {
  const result = chatPageRawSchema.safeParse(unwrapEnvelope(body));
  if (!result.success) return { ok: false, issues: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { ok: true, value: toPage(result.data, limit) };
}
