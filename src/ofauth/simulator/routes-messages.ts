import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { EndpointFamily } from '../endpoints.ts';
import { statsTypeSchema } from '../schemas.ts';
import { requireConnection, type SimDeps } from './context.ts';
import { takeSnapshot, classifyState } from './lifecycle.ts';
import { renderPage, renderQueueStatus, renderStatsItem } from './render.ts';
import { reachOf } from './buyers.ts';
import { computeAudience, type StoredMessage } from './store.ts';
import { checkMassMessageBody } from './validate.ts';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const MAX_STATS_LIMIT = 20;
const DEFAULT_STATS_LIMIT = 10;

const families: ReadonlyArray<{ family: EndpointFamily; base: string; list: string }> = [
  { family: 'queue', base: '/v2/access/messages/queue', list: '/v2/access/messages/queue/stats' },
  { family: 'mass-messages', base: '/v2/access/mass-messages', list: '/v2/access/mass-messages' },
];

function parseIntParam(value: unknown, fallback: number): number | null {
  if (value === undefined || value === '') return fallback;
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : null;
}

/** Both path families of the mass-message queue over one store (contract §3.1–3.5, §3.7). */
export function registerMessageRoutes(app: FastifyInstance, deps: SimDeps): void {
  const snapshot = (message: StoredMessage) => takeSnapshot(message, deps.clock.now(), deps.lifecycle);

  function findOr404(request: IdRequest, reply: FastifyReply): StoredMessage | null {
    const connection = requireConnection(deps, request);
    if (!/^\d+$/.test(request.params.id)) {
      deps.fail(request, reply, 'BAD_REQUEST', 'id: must be a numeric string', { details: { field: 'id' } });
      return null;
    }
    const message = deps.store.findMessage(connection.id, Number(request.params.id));
    if (message === undefined) deps.fail(request, reply, 'RESOURCE_NOT_FOUND', `mass message ${request.params.id} not found`);
    return message ?? null;
  }

  function create(family: EndpointFamily) {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      if (!deps.permit(request, reply, 'messages:write')) return reply;
      const connection = requireConnection(deps, request);
      const check = checkMassMessageBody(request.body, connection);
      if (!check.ok) return deps.fail(request, reply, 'BAD_REQUEST', check.message, { details: check.details });
      const now = deps.clock.now();
      const message: StoredMessage = {
        id: deps.store.nextMessageId(),
        connectionId: connection.id,
        createdVia: family,
        body: check.body,
        createdAt: now,
        updatedAt: now,
        scheduledAt: check.scheduledAt ?? now,
        hasScheduledDate: check.scheduledAt !== null,
        audience: computeAudience(connection, check.body),
        reach: reachOf(connection, check.body),
        canceledAt: null,
        unsentAt: null,
        updates: 0,
      };
      deps.store.messages.set(message.id, message);
      return deps.answerCommitted(request, reply, renderQueueStatus(message, snapshot(message), deps.quirks));
    };
  }

  async function list(request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:read')) return reply;
    const connection = requireConnection(deps, request);
    // Upstream's default type is documented elsewhere as `sent`; OFAuth's is unspecified.
    const type = statsTypeSchema.safeParse(request.query.type ?? 'sent');
    if (!type.success) return deps.fail(request, reply, 'BAD_REQUEST', 'type: must be sent, unsent or scheduled', { details: { field: 'type' } });
    const limit = parseIntParam(request.query.limit, DEFAULT_STATS_LIMIT);
    if (limit === null || limit < 1 || limit > MAX_STATS_LIMIT) {
      return deps.fail(request, reply, 'BAD_REQUEST', `limit: must be an integer from 1 to ${MAX_STATS_LIMIT}`, { details: { field: 'limit' } });
    }
    const offset = parseIntParam(request.query.offset, 0);
    if (offset === null) return deps.fail(request, reply, 'BAD_REQUEST', 'offset: must be an integer >= 0', { details: { field: 'offset' } });
    const matching = deps.store
      .messagesOf(connection.id)
      .map((message) => ({ message, snap: snapshot(message) }))
      .filter(({ snap }) => classifyState(snap.state) === type.data)
      .sort((a, b) => b.message.createdAt - a.message.createdAt || b.message.id - a.message.id);
    const page = matching.slice(offset, offset + limit).map(({ message, snap }) => renderStatsItem(message, snap, deps.quirks));
    return renderPage(page, offset + limit < matching.length, deps.quirks);
  }

  async function get(request: IdRequest, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:read')) return reply;
    const message = findOr404(request, reply);
    if (message === null) return reply;
    // The documented single-message schema has no sent/viewed/purchased counts.
    return renderStatsItem(message, snapshot(message), deps.quirks, false);
  }

  async function update(request: IdRequest, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:write')) return reply;
    const message = findOr404(request, reply);
    if (message === null) return reply;
    const state = snapshot(message).state;
    if (state !== 'scheduled') {
      return deps.fail(request, reply, 'BAD_REQUEST', `mass message ${message.id} is ${state} and can no longer be edited`, {
        details: { state },
      });
    }
    const check = checkMassMessageBody(request.body, requireConnection(deps, request));
    if (!check.ok) return deps.fail(request, reply, 'BAD_REQUEST', check.message, { details: check.details });
    const now = deps.clock.now();
    // PUT replaces the whole body: no scheduledDate means "send now", as on create.
    message.body = check.body;
    message.scheduledAt = check.scheduledAt ?? now;
    message.hasScheduledDate = check.scheduledAt !== null;
    message.audience = computeAudience(requireConnection(deps, request), check.body);
    message.reach = reachOf(requireConnection(deps, request), check.body);
    message.updatedAt = now;
    message.updates += 1;
    return deps.answerCommitted(request, reply, renderQueueStatus(message, snapshot(message), deps.quirks));
  }

  async function remove(request: IdRequest, reply: FastifyReply) {
    if (!deps.permit(request, reply, 'messages:write')) return reply;
    const message = findOr404(request, reply);
    if (message === null) return reply;
    const snap = snapshot(message);
    const now = deps.clock.now();
    if (snap.state === 'scheduled') message.canceledAt = now;
    else if (snap.canUnsend) message.unsentAt = now;
    else {
      const reason =
        snap.state === 'sending'
          ? 'is being sent and can be neither canceled nor unsent'
          : snap.state === 'sent'
            ? 'is past its unsend window'
            : 'is already canceled';
      return deps.fail(request, reply, 'BAD_REQUEST', `mass message ${message.id} ${reason}`, { details: { state: snap.state } });
    }
    message.updatedAt = now;
    return deps.answerCommitted(request, reply, { success: true, queue: renderStatsItem(message, snapshot(message), deps.quirks) });
  }

  for (const { family, base, list: listPath } of families) {
    app.post(base, create(family));
    app.get(listPath, list);
    app.get(`${base}/:id`, get);
    app.put(`${base}/:id`, update);
    app.delete(`${base}/:id`, remove);
  }
  // One docs snapshot shows this path for delete; accepted as an alias.
  app.delete('/v2/access/mass-messages/scheduled/:id', remove);
}
