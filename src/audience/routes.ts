import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createCampaignBodySchema } from '../campaigns/schemas.ts';
import { principalOf } from '../http/auth.ts';
import { authProblemResponses, bodyProblemResponses, problemResponses } from '../http/problem-responses.ts';
import { connectionListSchema, connectionParamsSchema, previewSchema, userListsResponseSchema } from './schemas.ts';
import type { AudienceService } from './service.ts';

const security = [{ bearerAuth: [] }];

/** Connections, their OFAuth lists, and the campaign preview. */
export function audienceRoutes(audience: AudienceService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/connections', {
      schema: {
        tags: ['connections'],
        summary: 'Connections Fanout has seen (the caller may use): pause state, last success, campaigns and queued sends',
        security,
        response: { 200: connectionListSchema, ...authProblemResponses },
      },
      handler: async (request) => audience.connections(principalOf(request)),
    });

    app.get('/connections/:id/lists', {
      schema: {
        tags: ['connections'],
        summary: "OFAuth's user lists on a connection, with names and sizes (read within the connection's rate budget, cached for LISTS_CACHE_TTL)",
        security,
        params: connectionParamsSchema,
        response: { 200: userListsResponseSchema, ...problemResponses(404, 502), ...authProblemResponses },
      },
      handler: async (request) => audience.lists(principalOf(request), request.params.id),
    });

    app.post('/campaigns/preview', {
      schema: {
        tags: ['campaigns'],
        summary: 'Preview a campaign body without storing anything: estimated audience, the OFAuth body, and overlapping sends',
        security,
        body: createCampaignBodySchema,
        response: { 200: previewSchema, ...bodyProblemResponses, ...authProblemResponses },
      },
      handler: async (request) => audience.preview(principalOf(request), request.body),
    });
  };
}
