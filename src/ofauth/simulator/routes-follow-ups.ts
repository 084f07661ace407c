import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { buyersOf } from './buyers.ts';
import { requireConnection, type SimDeps } from './context.ts';
import { takeSnapshot } from './lifecycle.ts';
import { renderUserList } from './render.ts';

const MAX_BUYERS_LIMIT = 20;
const DEFAULT_BUYERS_LIMIT = 10;
const MAX_LIST_NAME = 100;

/** `marker` is the simulator's own opaque cursor: the position in the buyers' purchase order. */
const encodeMarker = (position: number) => `b${position}`;
const decodeMarker = (marker: string): number | null => (/^b\d+$/.test(marker) ? Number(marker.slice(1)) : null);

const fan = (id: number) => ({ id, username: `fan${id}`, name: `Fan ${id}`, isVerified: false, avatar: null });

/**
 * The follow-up surface (contract §3.6, §3.9): a mass message's buyers paged by marker, and user
 * lists created and filled one user at a time. The two writes honour the after-commit faults
 * like the mass-message writes.
 */
export function registerFollowUpRoutes(app: FastifyInstance, deps: SimDeps, buyersSeed: number): void {
  app.get(
    '/v2/access/analytics/mass-messages/:id/buyers',
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
      if (!deps.permit(request, reply, 'messages:read')) return reply;
      const connection = requireConnection(deps, request);
      const message = /^\d+$/.test(request.params.id) ? deps.store.findMessage(connection.id, Number(request.params.id)) : undefined;
      if (message === undefined) return deps.fail(request, reply, 'RESOURCE_NOT_FOUND', `mass message ${request.params.id} not found`);
      const { limit: rawLimit, offset: rawOffset, marker } = request.query;
      const limit = rawLimit === undefined ? DEFAULT_BUYERS_LIMIT : Number(rawLimit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_BUYERS_LIMIT) {
        return deps.fail(request, reply, 'BAD_REQUEST', `limit: must be an integer from 1 to ${MAX_BUYERS_LIMIT}`, { details: { field: 'limit' } });
      }
      const start = marker !== undefined && marker !== '' ? decodeMarker(marker) : rawOffset === undefined ? 0 : Number(rawOffset);
      if (start === null || !Number.isInteger(start) || start < 0) return deps.fail(request, reply, 'BAD_REQUEST', 'marker: not one this API returned', { details: { field: 'marker' } });
      const snap = takeSnapshot(message, deps.clock.now(), deps.lifecycle);
      // Oldest purchase first, so a page boundary stays put while new buyers arrive.
      const buyers = buyersOf(message, snap.purchasedCount, buyersSeed);
      const page = buyers.slice(start, start + limit);
      const hasMore = start + limit < buyers.length;
      return { list: page.map(fan), hasMore, ...(hasMore ? { nextMarker: encodeMarker(start + limit) } : {}) };
    },
  );

  app.post('/v2/access/users/lists', async (request: FastifyRequest<{ Body: unknown }>, reply: FastifyReply) => {
    if (!deps.permit(request, reply, 'lists:write')) return reply;
    const name = (request.body as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name.length < 1 || name.length > MAX_LIST_NAME) {
      return deps.fail(request, reply, 'BAD_REQUEST', `name: must be a string of 1 to ${MAX_LIST_NAME} characters`, { details: { field: 'name' } });
    }
    const list = deps.store.createList(requireConnection(deps, request), name);
    return deps.answerCommitted(request, reply, renderUserList(list, deps.quirks));
  });

  app.post('/v2/access/users/lists/:id/users/:userId', async (request: FastifyRequest<{ Params: { id: string; userId: string } }>, reply: FastifyReply) => {
    if (!deps.permit(request, reply, 'lists:write')) return reply;
    const list = requireConnection(deps, request).lists.get(request.params.id);
    if (list === undefined) return deps.fail(request, reply, 'RESOURCE_NOT_FOUND', `list ${request.params.id} not found`);
    if (!/^[1-9]\d{0,15}$/.test(request.params.userId)) return deps.fail(request, reply, 'BAD_REQUEST', 'userId: must be a positive integer', { details: { field: 'userId' } });
    if (list.members === null) return deps.fail(request, reply, 'BAD_REQUEST', `list ${list.id} is a system list; users cannot be added`);
    // Adding a member twice changes nothing: the assumption Fanout's replays rest on.
    const userId = Number(request.params.userId);
    list.members.add(userId);
    list.size = list.members.size;
    const userState = { id: userId, type: 'user', name: `Fan ${userId}`, hasUser: true, canAddUser: false, cannotAddUserReason: null };
    return deps.answerCommitted(request, reply, { list: renderUserList(list, deps.quirks), userState });
  });
}
