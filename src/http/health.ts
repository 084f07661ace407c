import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Store } from '../store/types.ts';

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  mode: z.enum(['sandbox', 'live']),
  db: z.enum(['ok', 'error']),
  backend: z.enum(['sqlite', 'postgres']).describe('Which database the service runs on'),
});

/** GET /health: unauthenticated; says whether OFAuth is real and whether the database answers. */
export function healthRoutes(deps: { store: Pick<Store, 'ping' | 'backend'>; mode: 'sandbox' | 'live' }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/health', {
      schema: { tags: ['health'], summary: 'Liveness, mode (sandbox or live) and database status', response: { 200: healthSchema, 503: healthSchema } },
      handler: async (_request, reply) => {
        const db = (await deps.store.ping()) ? 'ok' : 'error';
        return reply.code(db === 'ok' ? 200 : 503).send({ status: db === 'ok' ? 'ok' : 'degraded', mode: deps.mode, db, backend: deps.store.backend });
      },
    });
  };
}
