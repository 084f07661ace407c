import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireConnection, type SimDeps } from './context.ts';
import { renderPage, renderUserList } from './render.ts';

const MAX_LISTS_LIMIT = 100;
const DEFAULT_LISTS_LIMIT = 10;

/** GET /v2/access/users/lists and /lists/{id} (contract §3.9): names and sizes for audiences. */
export function registerListRoutes(app: FastifyInstance, deps: SimDeps): void {
  app.get('/v2/access/users/lists', async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
    if (!deps.permit(request, reply, 'lists:read')) return reply;
    const { limit: rawLimit, offset: rawOffset, query } = request.query;
    const limit = rawLimit === undefined ? DEFAULT_LISTS_LIMIT : Number(rawLimit);
    const offset = rawOffset === undefined ? 0 : Number(rawOffset);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LISTS_LIMIT) {
      return deps.fail(request, reply, 'BAD_REQUEST', `limit: must be an integer from 1 to ${MAX_LISTS_LIMIT}`, { details: { field: 'limit' } });
    }
    if (!Number.isInteger(offset) || offset < 0) {
      return deps.fail(request, reply, 'BAD_REQUEST', 'offset: must be an integer >= 0', { details: { field: 'offset' } });
    }
    const needle = (query ?? '').toLowerCase();
    const lists = [...requireConnection(deps, request).lists.values()]
      .filter((list) => needle === '' || list.name.toLowerCase().includes(needle))
      .sort((a, b) => a.id - b.id);
    const page = lists.slice(offset, offset + limit).map((list) => renderUserList(list, deps.quirks));
    return renderPage(page, offset + limit < lists.length, deps.quirks);
  });

  app.get('/v2/access/users/lists/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    if (!deps.permit(request, reply, 'lists:read')) return reply;
    const list = requireConnection(deps, request).lists.get(request.params.id);
    if (list === undefined) return deps.fail(request, reply, 'RESOURCE_NOT_FOUND', `list ${request.params.id} not found`);
    return renderUserList(list, deps.quirks);
  });
}
