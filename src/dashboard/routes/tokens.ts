import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.ts';
import { createTokenBodySchema } from '../../tokens/schemas.ts';
import { assertAdmin, assertCanGrant } from '../../tokens/service.ts';
import { zodProblems } from '../campaign-form.ts';
import type { Dashboard } from '../plugin.ts';

const str = (value: unknown) => (typeof value === 'string' ? value : '');

/** Tokens (admin only): list, create with the secret shown once, revoke. */
export function tokenRoutes(dashboard: Dashboard) {
  const { services } = dashboard.fanout;

  async function showTokens(request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) {
    const tokens = await services.tokens.list();
    return dashboard.render(request, reply, 'tokens', { title: 'Tokens', nav: 'tokens', tokens, created: null, form: { name: '', role: 'marketer', connectionIds: '' }, errors: [], notice: null, ...extra }, status);
  }

  return async (app: FastifyInstance) => {
    app.addHook('preHandler', async (request) => {
      if (request.url.startsWith('/tokens')) assertAdmin(request.dashboard!.principal);
    });

    app.get('/tokens', async (request, reply) => showTokens(request, reply, { notice: (request.query as Record<string, unknown>).notice === 'revoked' ? 'Token revoked.' : null }));

    app.post('/tokens', async (request, reply) => {
      const issuer = request.dashboard!.principal;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const form = { name: str(body.name), role: str(body.role), connectionIds: str(body.connectionIds) };
      const connectionIds = form.connectionIds.split(/[\s,]+/).filter((s) => s.length > 0);
      const parsed = createTokenBodySchema.safeParse({ name: form.name, role: form.role, connectionIds: connectionIds.length > 0 ? connectionIds : null });
      if (!parsed.success) {
        const errors = zodProblems(parsed.error).map((p) => `${p.path.replace(/^body\//, '')}: ${p.message}`);
        return showTokens(request, reply, { form, errors }, 400);
      }
      try {
        assertCanGrant(issuer, parsed.data.connectionIds);
      } catch (error) {
        if (error instanceof AppError) return showTokens(request, reply, { form, errors: [error.message] }, error.status);
        throw error;
      }
      const { token, secret } = await services.tokens.issue(parsed.data);
      request.log.info({ tokenId: token.id, role: token.role }, 'token created');
      // Rendered, never redirected: the secret exists only in this one answer (no-store).
      return showTokens(request, reply, { created: { ...token, secret } }, 201);
    });

    app.post('/tokens/:id/revoke', async (request, reply) => {
      const { id } = request.params as { id: string };
      await services.tokens.revoke(id);
      return reply.redirect('/tokens?notice=revoked', 303);
    });
  };
}
