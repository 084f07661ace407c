import type { FastifyInstance } from 'fastify';
import { campaignStatuses, type CampaignStatus } from '../../campaigns/model.ts';
import { AppError } from '../../errors.ts';
import { CAMPAIGN_ID_PATTERN } from '../../ids.ts';
import { campaignPage, NOTICES, type Action } from '../campaign-page.ts';
import { takeWarnings } from '../overlaps.ts';
import type { Dashboard } from '../plugin.ts';
import { listRevenue, nextSendOf } from '../view-helpers.ts';
import { connectionChoices } from './connections.ts';

const PAGE_SIZE = 25;

/** The campaigns list, one campaign's page, and the actions on it. */
export function campaignRoutes(dashboard: Dashboard) {
  const { services } = dashboard.fanout;
  const showCampaign = campaignPage(dashboard);

  return async (app: FastifyInstance) => {
    app.get('/campaigns', async (request, reply) => {
      const { principal } = request.dashboard!;
      const query = request.query as Record<string, unknown>;
      const status = ([] as unknown[]).concat(query.status ?? []).filter((s): s is CampaignStatus => campaignStatuses.includes(s as CampaignStatus));
      const connectionId = typeof query.connection === 'string' && /^conn_[A-Za-z0-9_-]{1,120}$/.test(query.connection) ? query.connection : undefined;
      const search = typeof query.q === 'string' ? query.q.trim().slice(0, 200) : '';
      const cursor = typeof query.cursor === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(query.cursor) ? query.cursor : undefined;
      const page = await services.campaigns.list(principal, { status: status.length > 0 ? status : undefined, connectionId, limit: PAGE_SIZE, cursor, nameContains: search || undefined });
      const filters = new URLSearchParams();
      for (const s of status) filters.append('status', s);
      if (connectionId) filters.set('connection', connectionId);
      if (search) filters.set('q', search);
      const nextUrl = page.nextCursor ? `/campaigns?${new URLSearchParams([...filters, ['cursor', page.nextCursor]])}` : null;
      const rows = page.items.map((c) => ({ campaign: c, nextSend: nextSendOf(c), revenue: listRevenue(c) }));
      const connections = connectionChoices(dashboard, principal, page.items.map((c) => c.connectionId));
      const notice = typeof query.notice === 'string' ? (NOTICES[query.notice] ?? null) : null;
      return dashboard.render(request, reply, 'campaigns', {
        title: 'Campaigns',
        nav: 'campaigns',
        rows,
        statuses: campaignStatuses,
        selected: status,
        connectionId: connectionId ?? '',
        connections,
        search,
        nextUrl,
        firstUrl: cursor ? `/campaigns?${filters}` : null,
        notice,
      });
    });

    app.get('/campaigns/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!CAMPAIGN_ID_PATTERN.test(id)) throw new AppError(404, 'not_found', 'Not found', `No campaign with id ${id}.`);
      const notice = (request.query as Record<string, unknown>).notice;
      return showCampaign(request, reply, id, { notice: typeof notice === 'string' ? (NOTICES[notice] ?? null) : null, warnings: takeWarnings(request, id) });
    });

    app.post('/campaigns/:id/:action', async (request, reply) => {
      const { principal } = request.dashboard!;
      const { id, action } = request.params as { id: string; action: string };
      if (!CAMPAIGN_ID_PATTERN.test(id)) throw new AppError(404, 'not_found', 'Not found', `No campaign with id ${id}.`);
      const run: Record<Action, () => Promise<unknown>> = {
        schedule: () => services.campaigns.schedule(principal, id),
        cancel: () => services.campaigns.cancel(principal, id),
        pause: () => services.campaigns.pause(principal, id),
        resume: () => services.campaigns.resume(principal, id),
        delete: () => services.campaigns.remove(principal, id),
        sync: () => services.sync.syncNow(principal, id),
      };
      const step = run[action as Action];
      if (!step) throw new AppError(404, 'not_found', 'Not found', `No action ${action}.`);
      try {
        await step();
      } catch (error) {
        // A refused action (wrong state, say) is shown on the campaign's page, not as an error page.
        if (error instanceof AppError && error.status === 409) return showCampaign(request, reply, id, { actionError: error.message }, 409);
        throw error;
      }
      return reply.redirect(action === 'delete' ? '/campaigns?notice=delete' : `/campaigns/${id}?notice=${action}`, 303);
    });
  };
}
