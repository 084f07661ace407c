import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { campaignParamsSchema } from '../campaigns/schemas.ts';
import { principalOf } from '../http/auth.ts';
import { authProblemResponses, problemResponses } from '../http/problem-responses.ts';
import { listSendsQuerySchema, sendListSchema, sendParamsSchema, sendSchema, sendWithEventsSchema, testSendBodySchema } from './schemas.ts';
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

    app.post('/campaigns/:id/test-send', {
      schema: {
        tags,
        summary: "Sends the campaign's current message to one fan as a chat message (kind test): never counted in stats, never moving the campaign",
        description:
          'Allowed in draft and scheduled; TEST_SEND_ALLOWLIST may restrict the fans (403). Answers with the test send: `sent` with its chat message id, `unknown` when the outcome could not be told (it is then searched for, never sent again blindly), or `pending` when the loop finishes it.',
        security,
        params: campaignParamsSchema,
        body: testSendBodySchema,
        response: { 201: sendSchema, ...problemResponses(400, 403, 404, 409), ...authProblemResponses },
      },
      handler: async (request, reply) => reply.code(201).send(await sends.testSend(principalOf(request), request.params.id, request.body.userId)),
    });

    app.post('/sends/:id/unsend', {
      schema: {
        tags,
        summary: 'Unsends a sent message (a mass message, or a test send) while OFAuth still allows it',
        description: '200: unsent. 202: asked for; the sync loop finishes it (see `unsend` and `sync`). 409: not sent, already unsent, or outside OFAuth\'s unsend window.',
        security,
        params: sendParamsSchema,
        response: { 200: sendSchema, 202: sendSchema, ...problemResponses(404, 409), ...authProblemResponses },
      },
      handler: async (request, reply) => {
        const { view, isDone } = await sends.unsend(principalOf(request), request.params.id);
        return reply.code(isDone ? 200 : 202).send(view);
      },
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
