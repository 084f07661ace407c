import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ManualClock, type Clock } from '../../clock.ts';
import type { FaultOptions } from './faults.ts';
import type { SimChatMessageView } from './chat-messages.ts';
import type { SimMessage } from './inspect.ts';
import type { SimChat, SimChatInput } from './store.ts';

export interface Inspector {
  clock: Clock;
  messages(connectionId?: string): SimMessage[];
  chatMessages(connectionId?: string): SimChatMessageView[];
  requestCounts(): Record<string, number>;
  reset(): void;
  setFaults(faults: FaultOptions): void;
  faults(): FaultOptions;
  audienceOf(messageId: number): { recipients: number[]; buyers: number[] } | null;
  lists(connectionId: string): Array<{ id: number; name: string; size: number; members: number[] | null }>;
  /** A connection's chats and their filters; null for an unknown connection. */
  chats(connectionId: string): SimChat[] | null;
  /** Adds (or replaces, by fan id) chats of a connection; false for an unknown connection. */
  putChats(connectionId: string, chats: SimChatInput[]): boolean;
}

const chatsBodySchema = z.object({
  connectionId: z.string().min(1),
  chats: z.array(
    z.object({ fanId: z.number().int().positive(), priority: z.boolean().optional(), unread: z.boolean().optional(), tipped: z.boolean().optional(), lastActivityAt: z.number().optional() }),
  ),
});

const rateSchema = z.number().min(0).max(1);
const faultsBodySchema = z.object({
  seed: z.number().int().optional(),
  serverErrorBeforeCommit: rateSchema.optional(),
  serverErrorAfterCommit: rateSchema.optional(),
  dropAfterCommit: rateSchema.optional(),
  latencyMs: z.tuple([z.number().min(0), z.number().min(0)]).optional(),
  rateLimitStorm: rateSchema.optional(),
});

const clockBodySchema = z.union([
  z.object({ now: z.union([z.number(), z.string().min(1)]) }),
  z.object({ advanceMs: z.number() }),
]);

function badRequest(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(400).send({ error: message, type: 'BAD_REQUEST' });
}

/**
 * Test-only inspection under /__sim (no apiKey): what was created, how many requests each
 * route answered, and knobs for faults and a ManualClock. Never part of OFAuth's surface.
 */
export function registerInspectRoutes(app: FastifyInstance, inspector: Inspector): void {
  app.get('/__sim/messages', async (request: FastifyRequest<{ Querystring: { connectionId?: string } }>) => ({
    messages: inspector.messages(request.query.connectionId || undefined),
  }));

  // Who a message reached and who bought it: what a follow-up to non-buyers is checked against.
  app.get('/__sim/messages/:id/audience', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    const audience = /^\d+$/.test(request.params.id) ? inspector.audienceOf(Number(request.params.id)) : null;
    return audience === null ? reply.code(404).send({ error: 'no such message', type: 'RESOURCE_NOT_FOUND' }) : audience;
  });

  app.get('/__sim/lists', async (request: FastifyRequest<{ Querystring: { connectionId?: string } }>, reply) => {
    if (!request.query.connectionId) return badRequest(reply, 'connectionId is required');
    return { lists: inspector.lists(request.query.connectionId) };
  });

  app.get('/__sim/chats', async (request: FastifyRequest<{ Querystring: { connectionId?: string } }>, reply) => {
    const chats = inspector.chats(request.query.connectionId ?? '');
    return chats === null ? badRequest(reply, 'connectionId: unknown connection') : { chats };
  });

  app.post('/__sim/chats', async (request, reply) => {
    const parsed = chatsBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    if (!inspector.putChats(parsed.data.connectionId, parsed.data.chats)) return badRequest(reply, 'connectionId: unknown connection');
    return { chats: inspector.chats(parsed.data.connectionId) };
  });

  app.get('/__sim/chat-messages', async (request: FastifyRequest<{ Querystring: { connectionId?: string } }>) => ({
    chatMessages: inspector.chatMessages(request.query.connectionId || undefined),
  }));

  app.get('/__sim/requests', async () => ({ counts: inspector.requestCounts() }));

  app.post('/__sim/reset', async () => {
    inspector.reset();
    return { ok: true };
  });

  app.get('/__sim/faults', async () => ({ faults: inspector.faults() }));

  app.post('/__sim/faults', async (request, reply) => {
    const parsed = faultsBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    try {
      inspector.setFaults(parsed.data as FaultOptions);
    } catch (error) {
      return badRequest(reply, (error as Error).message);
    }
    return { faults: inspector.faults() };
  });

  app.get('/__sim/clock', async () => ({ now: new Date(inspector.clock.now()).toISOString(), manual: inspector.clock instanceof ManualClock }));

  app.post('/__sim/clock', async (request, reply) => {
    const clock = inspector.clock;
    if (!(clock instanceof ManualClock)) return badRequest(reply, 'the simulator runs on the system clock; start it with a ManualClock');
    const parsed = clockBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, 'body must be {now} (epoch ms or ISO date) or {advanceMs}');
    if ('advanceMs' in parsed.data) clock.advance(parsed.data.advanceMs);
    else {
      const to = typeof parsed.data.now === 'number' ? parsed.data.now : Date.parse(parsed.data.now);
      if (Number.isNaN(to)) return badRequest(reply, 'now: not a date');
      clock.set(to);
    }
    return { now: new Date(clock.now()).toISOString() };
  });
}
