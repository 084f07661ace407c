import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../db/client.ts';

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  mode: z.enum(['sandbox', 'live']),
  db: z.enum(['ok', 'error']),
});

/** GET /health: unauthenticated; says whether OFAuth is real and whether the database answers. */
export function healthRoutes(deps: { db: Db; mode: 'sandbox' | 'live' }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/health', {
      schema: { tags: ['health'], summary: 'Liveness, mode (sandbox or live) and database status', response: { 200: healthSchema, 503: healthSchema } },
      handler: async (_request, reply) => {
        let db: 'ok' | 'error' = 'ok';
        try {
          deps.db.$client.prepare('SELECT 1').get();
        } catch {
          db = 'error';
        }
        return reply.code(db === 'ok' ? 200 : 503).send({ status: db === 'ok' ? 'ok' : 'degraded', mode: deps.mode, db });
      },
    });
  };
}
