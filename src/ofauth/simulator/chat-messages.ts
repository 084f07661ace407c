import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { massMessageBodySchema, type MassMessageBody } from '../schemas.ts';
import { requireConnection, type SimDeps } from './context.ts';

/*
 * One-to-one chat messages (contract §3.11, seeds 000 and 003): send, list a fan's chat, and
 * unsend by either documented path. Over the same clock as the mass messages, with the same
 * unsend window (counted from the send) and the same after-commit faults on both writes.
 */

export interface SimChatMessage {
  id: number;
  connectionId: string;
  withUserId: number;
  body: MassMessageBody;
  createdAt: number;
  unsentAt: number | null;
}

/** What /__sim/chat-messages shows of one. */
export interface SimChatMessageView {
  id: number;
  connectionId: string;
  withUserId: number;
  text: string;
  price: number;
  mediaCount: number;
  createdAt: string;
  unsentAt: string | null;
}

const FIRST_CHAT_MESSAGE_ID = 7_000_001;
const MAX_LIMIT = 20;
const DEFAULT_LIMIT = 10;

/** Chat messages of every connection; reset with the simulator's store. */
export class SimChatStore {
  readonly messages = new Map<number, SimChatMessage>();
  #nextId = FIRST_CHAT_MESSAGE_ID;

  reset(): void {
    this.messages.clear();
    this.#nextId = FIRST_CHAT_MESSAGE_ID;
  }

  nextId(): number {
    return this.#nextId++;
  }

  /** Oldest first. */
  list(connectionId?: string): SimChatMessageView[] {
    return [...this.messages.values()]
      .filter((m) => connectionId === undefined || m.connectionId === connectionId)
      .sort((a, b) => a.id - b.id)
      .map((m) => ({
        id: m.id,
        connectionId: m.connectionId,
        withUserId: m.withUserId,
        text: m.body.text ?? '',
        price: m.body.price ?? 0,
        mediaCount: m.body.mediaItems?.length ?? 0,
        createdAt: new Date(m.createdAt).toISOString(),
        unsentAt: m.unsentAt === null ? null : new Date(m.unsentAt).toISOString(),
      }));
  }
}

type UserRequest = FastifyRequest<{ Params: { userId: string; id?: string }; Querystring: Record<string, string | undefined> }>;

const isNumeric = (value: unknown): value is string => typeof value === 'string' && /^\d+$/.test(value);

export function registerChatMessageRoutes(app: FastifyInstance, deps: SimDeps, chats: SimChatStore): void {
  const windowLeftSeconds = (message: SimChatMessage, now: number) => Math.max(0, Math.ceil((message.createdAt + deps.lifecycle.unsendWindowMs - now) / 1000));

  /** The seed's answer: the message as HTML text, with cancelSeconds (read as the unsend window). */
  const render = (message: SimChatMessage, now: number) => ({
    id: message.id,
    text: `<p>${message.body.text ?? ''}</p>`,
    createdAt: new Date(message.createdAt).toISOString(),
    media: (message.body.mediaItems ?? []).map((id, i) => ({ id: typeof id === 'number' ? id : 900_000 + i, canView: true, isReady: true })),
    mediaCount: message.body.mediaItems?.length ?? 0,
    isMediaReady: true,
    price: message.body.price ?? 0,
    isFree: (message.body.price ?? 0) === 0,
    lockedText: message.body.isLockedText ?? false,
    cancelSeconds: windowLeftSeconds(message, now),
  });

  async function send(request: UserRequest, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:write')) return reply;
    const connection = requireConnection(deps, request);
    if (!isNumeric(request.params.userId)) return deps.fail(request, reply, 'BAD_REQUEST', 'userId: must match ^\\d+$', { details: { field: 'userId' } });
    const parsed = massMessageBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return deps.fail(request, reply, 'BAD_REQUEST', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const price = parsed.data.price ?? 0;
    if (price !== 0 && price < 3) return deps.fail(request, reply, 'BAD_REQUEST', 'price: must be 0 or between 3 and 200', { details: { field: 'price' } });
    const now = deps.clock.now();
    const message: SimChatMessage = { id: chats.nextId(), connectionId: connection.id, withUserId: Number(request.params.userId), body: parsed.data, createdAt: now, unsentAt: null };
    chats.messages.set(message.id, message);
    return deps.answerCommitted(request, reply, render(message, now));
  }

  async function list(request: UserRequest, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:read')) return reply;
    const connection = requireConnection(deps, request);
    const limit = request.query.limit === undefined ? DEFAULT_LIMIT : Number(request.query.limit);
    const offset = request.query.offset === undefined ? 0 : Number(request.query.offset);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return deps.fail(request, reply, 'BAD_REQUEST', `limit: must be an integer from 1 to ${MAX_LIMIT}`);
    if (!Number.isInteger(offset) || offset < 0) return deps.fail(request, reply, 'BAD_REQUEST', 'offset: must be an integer >= 0');
    const now = deps.clock.now();
    // Newest first; an unsent message is gone from the chat.
    const chat = [...chats.messages.values()]
      .filter((m) => m.connectionId === connection.id && String(m.withUserId) === request.params.userId && m.unsentAt === null)
      .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
    return { list: chat.slice(offset, offset + limit).map((m) => render(m, now)), hasMore: offset + limit < chat.length };
  }

  async function unsend(request: UserRequest, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:write')) return reply;
    const connection = requireConnection(deps, request);
    const body = (request.body ?? {}) as { withUserId?: unknown };
    const withUserId = request.params.userId ?? (body.withUserId === undefined ? undefined : String(body.withUserId));
    if (!isNumeric(withUserId)) return deps.fail(request, reply, 'BAD_REQUEST', 'withUserId: required, a fan id', { details: { field: 'withUserId' } });
    const message = isNumeric(request.params.id) ? chats.messages.get(Number(request.params.id)) : undefined;
    if (message === undefined || message.connectionId !== connection.id || String(message.withUserId) !== withUserId || message.unsentAt !== null) {
      return deps.fail(request, reply, 'RESOURCE_NOT_FOUND', `message ${request.params.id ?? ''} not found in the chat with ${withUserId}`);
    }
    const now = deps.clock.now();
    if (windowLeftSeconds(message, now) <= 0) return deps.fail(request, reply, 'BAD_REQUEST', `message ${message.id} is past its unsend window`);
    message.unsentAt = now;
    return deps.answerCommitted(request, reply, { success: true });
  }

  app.post('/v2/access/chats/:userId/messages', send);
  app.get('/v2/access/chats/:userId/messages', list);
  // The guide's path, and the SDK's.
  app.delete('/v2/access/messages/:id', async (request: UserRequest, reply: FastifyReply) => {
    if (deps.quirks.onlySdkChatUnsend === true) return deps.fail(request, reply, 'ROUTE_NOT_FOUND', `no route DELETE ${request.url.split('?')[0]}`);
    return unsend(request, reply);
  });
  app.delete('/v2/access/chats/:userId/messages/:id', unsend);
}
