import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { campaignParamsSchema } from '../campaigns/schemas.ts';
import { principalOf } from '../http/auth.ts';
import { authProblemResponses, problemResponses } from '../http/problem-responses.ts';
import { campaignStatsQuerySchema, campaignStatsSchema, statsSummaryQuerySchema, statsSummarySchema } from './schemas.ts';
import type { StatsService } from './service.ts';

const security = [{ bearerAuth: [] }];
const tags = ['stats'];

/** GET /v1/campaigns/:id/stats and GET /v1/stats/summary. */
export function statsRoutes(stats: StatsService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/campaigns/:id/stats', {
      schema: {
        tags,
        summary: "A campaign's latest counts, rates, revenue estimate and snapshot history (a series: sums and each send)",
        security,
        params: campaignParamsSchema,
        querystring: campaignStatsQuerySchema,
        response: { 200: campaignStatsSchema, ...problemResponses(404), ...authProblemResponses },
      },
      handler: (request) => stats.campaignStats(principalOf(request), request.params.id, request.query),
    });

    app.get('/stats/summary', {
      schema: {
        tags,
        summary: 'Totals per connection and per UTC day: sends, messages sent, views, purchases, revenue estimate',
        security,
        querystring: statsSummaryQuerySchema,
        response: { 200: statsSummarySchema, ...authProblemResponses },
      },
      handler: (request) => stats.summary(principalOf(request), request.query),
    });
  };
}
