import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { campaignParamsSchema } from '../campaigns/schemas.ts';
import { principalOf } from '../http/auth.ts';
import { authProblemResponses, problemResponses } from '../http/problem-responses.ts';
import { listSendsQuerySchema, sendListSchema, sendParamsSchema, sendWithEventsSchema } from './schemas.ts';
import type { SendService } from './service.ts';

const security = [{ bearerAuth: [] }];
const tags = ['sends'];

/** GET /v1/campaigns/:id/sends and GET /v1/sends/:id. */
export function sendRoutes(sends: SendService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/campaigns/:id/sends', {
      schema: {
        tags,
        summary: "A campaign's sends (one OFAuth mass message each), newest first, with a keyset cursor",
        security,
        params: campaignParamsSchema,
        querystring: listSendsQuerySchema,
        response: { 200: sendListSchema, ...problemResponses(404), ...authProblemResponses },
      },
      handler: async (request) => sends.list(principalOf(request), request.params.id, request.query),
    });

    app.get('/sends/:id', {
      schema: {
        tags,
        summary: 'One send, with its sync state, stats and events',
        security,
        params: sendParamsSchema,
        response: { 200: sendWithEventsSchema, ...problemResponses(404), ...authProblemResponses },
      },
      handler: async (request) => sends.get(principalOf(request), request.params.id),
    });
  };
}
