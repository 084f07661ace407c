import type { FastifyInstance } from 'fastify';
import { AppError, NotFoundError } from '../../errors.ts';
import { testSendBodySchema } from '../../sends/schemas.ts';
import { CAMPAIGN_ID_PATTERN, SEND_ID_PATTERN } from '../../ids.ts';
import { campaignPage } from '../campaign-page.ts';
import type { Dashboard } from '../plugin.ts';

/** A campaign's test send and a send's unsend: the send service's two actions, as the API runs them. */
export function sendRoutes(dashboard: Dashboard) {
  const { services } = dashboard.fanout;
  const showCampaign = campaignPage(dashboard);

  return async (app: FastifyInstance) => {
    app.post('/campaigns/:id/test-send', async (request, reply) => {
      const { principal } = request.dashboard!;
      const { id } = request.params as { id: string };
      if (!CAMPAIGN_ID_PATTERN.test(id)) throw new NotFoundError('campaign', id);
      const posted = (request.body ?? {}) as Record<string, unknown>;
      const userId = typeof posted.userId === 'string' ? posted.userId.trim() : '';
      const refuse = (error: string, status: number) => showCampaign(request, reply, id, { testSend: { userId, error } }, status);
      // The API's own body schema judges the id; its message is zod's, so the form says it plainly.
      const parsed = testSendBodySchema.safeParse({ userId });
      if (!parsed.success) return refuse('expected a fan id: a whole number such as 101', 400);
      try {
        const send = await services.sends.testSend(principal, id, parsed.data.userId);
        return reply.redirect(`/campaigns/${id}?notice=test-${send.status}`, 303);
      } catch (error) {
        // Refusals (not allowlisted, wrong state) sit next to the field; a hidden campaign stays a 404 page.
        if (error instanceof AppError && error.status < 500 && error.status !== 404) return refuse(error.message, error.status);
        throw error;
      }
    });

    app.post('/sends/:id/unsend', async (request, reply) => {
      const { principal } = request.dashboard!;
      const { id } = request.params as { id: string };
      if (!SEND_ID_PATTERN.test(id)) throw new NotFoundError('send', id);
      // Read first, in scope: the page to return to (and a 404 for another connection's send).
      const { campaignId } = await services.sends.get(principal, id);
      try {
        const { isDone } = await services.sends.unsend(principal, id);
        return reply.redirect(`/campaigns/${campaignId}?notice=${isDone ? 'unsent' : 'unsend-requested'}`, 303);
      } catch (error) {
        if (error instanceof AppError && error.status === 409) return showCampaign(request, reply, campaignId, { actionError: error.message }, 409);
        throw error;
      }
    });
  };
}
