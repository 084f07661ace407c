import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { principalOf } from '../http/auth.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { authProblemResponses, bodyProblemResponses, problemResponse } from '../http/problem-responses.ts';
import { assertAdmin, assertCanGrant, type TokenService } from './service.ts';
import { createTokenBodySchema, createdTokenSchema, tokenListSchema, tokenParamsSchema } from './schemas.ts';

const security = [{ bearerAuth: [] }];
// A marketer's token is refused on every route here, so that is the 403 worth showing.
const adminProblemResponses = { ...authProblemResponses, 403: problemResponse(new ForbiddenError('Only admin tokens may manage tokens.')) };

/** Token management; admin tokens only. */
export function tokenRoutes(tokens: TokenService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/tokens', {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (admin). The secret is returned once.',
        security,
        body: createTokenBodySchema,
        response: { 201: createdTokenSchema, ...bodyProblemResponses, ...adminProblemResponses },
      },
      handler: async (request, reply) => {
        const issuer = principalOf(request);
        assertAdmin(issuer);
        assertCanGrant(issuer, request.body.connectionIds);
        const { token, secret } = await tokens.issue(request.body);
        request.log.info({ tokenId: token.id, role: token.role }, 'token created');
        return reply.code(201).send({ ...token, secret });
      },
    });

    app.get('/tokens', {
      schema: {
        tags: ['tokens'],
        summary: 'List active API tokens (admin). Secrets are never shown.',
        security,
        response: { 200: tokenListSchema, ...adminProblemResponses },
      },
      handler: async (request) => {
        assertAdmin(principalOf(request));
        return { items: await tokens.list() };
      },
    });

    app.delete('/tokens/:id', {
      schema: {
        tags: ['tokens'],
        summary: 'Revoke an API token (admin).',
        security,
        params: tokenParamsSchema,
        response: { 204: z.null().describe('Revoked'), 404: problemResponse(new NotFoundError('token', 'tok_01JH2X5Q8Z3M4N6P7R9S0T1V2W')), ...adminProblemResponses },
      },
      handler: async (request, reply) => {
        assertAdmin(principalOf(request));
        await tokens.revoke(request.params.id);
        return reply.code(204).send(null);
      },
    });
  };
}
