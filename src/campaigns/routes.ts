import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { principalOf } from '../http/auth.ts';
import { authProblemResponses, bodyProblemResponses, problemResponses } from '../http/problem-responses.ts';
import {
  campaignListSchema,
  campaignParamsSchema,
  campaignSchema,
  campaignWithWarningsSchema,
  createCampaignBodySchema,
  eventListQuerySchema,
  eventListSchema,
  listCampaignsQuerySchema,
  patchCampaignBodySchema,
} from './schemas.ts';
import type { CampaignService } from './service.ts';

const security = [{ bearerAuth: [] }];
const tags = ['campaigns'];

const idempotencyHeadersSchema = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional()
    .describe('Makes a retried create safe: the same key and body within 24 hours returns the first response.'),
});

/** The campaign API: handlers translate HTTP to service calls and back, nothing more. */
export function campaignRoutes(campaigns: CampaignService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/campaigns', {
      schema: {
        tags,
        summary: 'Create a campaign (draft or scheduled; one-shot, or a series with recurrence)',
        security,
        headers: idempotencyHeadersSchema,
        body: createCampaignBodySchema,
        response: { 201: campaignWithWarningsSchema, ...problemResponses(409, 422), ...bodyProblemResponses, ...authProblemResponses },
      },
      handler: async (request, reply) => {
        const result = await campaigns.create(principalOf(request), request.body, request.headers['idempotency-key']);
        return reply.code(result.statusCode as 201).send(result.body);
      },
    });

    app.get('/campaigns', {
      schema: {
        tags,
        summary: 'List campaigns, newest first, with a keyset cursor',
        security,
        querystring: listCampaignsQuerySchema,
        response: { 200: campaignListSchema, ...authProblemResponses },
      },
      handler: async (request) => campaigns.list(principalOf(request), request.query),
    });

    app.get('/campaigns/:id', {
      schema: {
        tags,
        summary: 'Get a campaign',
        security,
        params: campaignParamsSchema,
        response: { 200: campaignSchema, ...problemResponses(404), ...authProblemResponses },
      },
      handler: async (request) => campaigns.get(principalOf(request), request.params.id),
    });

    app.patch('/campaigns/:id', {
      schema: {
        tags,
        summary: 'Edit name, message, audience, scheduledAt or recurrence (one-shot: draft, scheduled, or queued more than 60 s before sending; series: draft, scheduled or paused, reaching every send not yet sending)',
        security,
        params: campaignParamsSchema,
        body: patchCampaignBodySchema,
        response: { 200: campaignWithWarningsSchema, ...problemResponses(404, 409), ...bodyProblemResponses, ...authProblemResponses },
      },
      handler: async (request) => campaigns.update(principalOf(request), request.params.id, request.body),
    });

    app.post('/campaigns/:id/schedule', {
      schema: {
        tags,
        summary: 'Schedule a draft',
        security,
        params: campaignParamsSchema,
        response: { 200: campaignSchema, ...problemResponses(404, 409), ...authProblemResponses },
      },
      handler: async (request) => campaigns.schedule(principalOf(request), request.params.id),
    });

    app.post('/campaigns/:id/cancel', {
      schema: {
        tags,
        summary: 'Cancel a draft, scheduled or queued campaign (its OFAuth copy is deleted by the sync loop)',
        security,
        params: campaignParamsSchema,
        response: { 200: campaignSchema, ...problemResponses(404, 409), ...authProblemResponses },
      },
      handler: async (request) => campaigns.cancel(principalOf(request), request.params.id),
    });

    app.post('/campaigns/:id/pause', {
      schema: {
        tags,
        summary: 'Pause a recurring campaign: its queued sends are deleted from OFAuth (sending ones go on), no new ones are made',
        security,
        params: campaignParamsSchema,
        response: { 200: campaignSchema, ...problemResponses(404, 409), ...authProblemResponses },
      },
      handler: async (request) => campaigns.pause(principalOf(request), request.params.id),
    });

    app.post('/campaigns/:id/resume', {
      schema: {
        tags,
        summary: 'Resume a paused series from its next occurrence after now (occurrences missed meanwhile are recorded as failed, never sent late)',
        security,
        params: campaignParamsSchema,
        response: { 200: campaignSchema, ...problemResponses(404, 409), ...authProblemResponses },
      },
      handler: async (request) => campaigns.resume(principalOf(request), request.params.id),
    });

    app.delete('/campaigns/:id', {
      schema: {
        tags,
        summary: 'Delete a draft, canceled or failed campaign',
        security,
        params: campaignParamsSchema,
        response: { 204: z.null().describe('Deleted'), ...problemResponses(404, 409), ...authProblemResponses },
      },
      handler: async (request, reply) => {
        await campaigns.remove(principalOf(request), request.params.id);
        return reply.code(204).send(null);
      },
    });

    app.get('/campaigns/:id/events', {
      schema: {
        tags,
        summary: "The campaign's audit log, oldest first",
        security,
        params: campaignParamsSchema,
        querystring: eventListQuerySchema,
        response: { 200: eventListSchema, ...problemResponses(404), ...authProblemResponses },
      },
      handler: async (request) => campaigns.events(principalOf(request), request.params.id, request.query),
    });
  };
}
