import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { campaignStatuses, type CampaignStatus } from '../../campaigns/model.ts';
import type { CampaignView } from '../../campaigns/schemas.ts';
import { allowedFrom, type MarketerAction } from '../../campaigns/transitions.ts';
import { AppError } from '../../errors.ts';
import type { CampaignStatsView } from '../../stats/schemas.ts';
import type { Dashboard } from '../plugin.ts';
import { listRevenue, nextSendOf } from '../view-helpers.ts';
import { connectionChoices } from './connections.ts';

const PAGE_SIZE = 25;
const SENDS_SHOWN = 50;
const EVENTS_SHOWN = 200;
const ID_PATTERN = /^cmp_[0-9A-HJKMNP-TV-Z]{26}$/;

type Action = Exclude<MarketerAction, 'edit'> | 'sync';

/** The actions a campaign's state allows, as the campaign service's own table says. */
export function actionsFor(c: CampaignView): Action[] {
  const table = allowedFrom[c.recurrence ? 'series' : 'oneShot'];
  const actions: Action[] = (['schedule', 'pause', 'resume', 'cancel', 'delete'] as const).filter((a) => table[a].includes(c.status));
  // Sync now: while something may still go to OFAuth (the service refuses nothing, but on a
  // finished campaign it does nothing either).
  if (['scheduled', 'queued', 'sending', 'paused'].includes(c.status)) actions.splice(1, 0, 'sync');
  return actions;
}

export const canEdit = (c: CampaignView) => allowedFrom[c.recurrence ? 'series' : 'oneShot'].edit.includes(c.status);

const NOTICES: Record<string, string> = {
  created: 'Campaign saved.',
  updated: 'Changes saved.',
  schedule: 'Campaign scheduled.',
  cancel: 'Campaign canceled.',
  pause: 'Series paused: no new sends until it is resumed.',
  resume: 'Series resumed from its next occurrence.',
  sync: 'Sync requested.',
  delete: 'Campaign deleted.',
};

/**
 * Cumulative sent / viewed / purchased over time from the snapshots: for a series, each
 * send's latest counts summed at every moment one of them changed.
 */
function chartSeries(stats: CampaignStatsView) {
  const latest = new Map<string, { sent: number; viewed: number; purchased: number }>();
  const points: { t: number[]; sent: number[]; viewed: number[]; purchased: number[] } = { t: [], sent: [], viewed: [], purchased: [] };
  for (const s of stats.snapshots) {
    latest.set(s.sendId ?? 'one', { sent: s.sentCount ?? 0, viewed: s.viewedCount ?? 0, purchased: s.purchasedCount ?? 0 });
    let sent = 0, viewed = 0, purchased = 0;
    for (const v of latest.values()) {
      sent += v.sent;
      viewed += v.viewed;
      purchased += v.purchased;
    }
    const t = Math.floor(Date.parse(s.observedAt) / 1000);
    if (points.t.at(-1) === t) {
      points.sent[points.sent.length - 1] = sent;
      points.viewed[points.viewed.length - 1] = viewed;
      points.purchased[points.purchased.length - 1] = purchased;
    } else {
      points.t.push(t);
      points.sent.push(sent);
      points.viewed.push(viewed);
      points.purchased.push(purchased);
    }
  }
  return points;
}

/** The campaigns list, one campaign's page, and the actions on it. */
export function campaignRoutes(dashboard: Dashboard) {
  const { services } = dashboard.fanout;

  async function showCampaign(request: FastifyRequest, reply: FastifyReply, id: string, extra: { notice?: string | null; actionError?: string | null } = {}, status = 200) {
    const { principal } = request.dashboard!;
    const campaign = await services.campaigns.get(principal, id);
    const [sends, stats, events] = await Promise.all([
      services.sends.list(principal, id, { limit: SENDS_SHOWN }),
      services.stats.campaignStats(principal, id, { limit: 1_000 }),
      services.campaigns.events(principal, id, { limit: EVENTS_SHOWN }),
    ]);
    return dashboard.render(
      request,
      reply,
      'campaign',
      {
        title: campaign.name,
        nav: 'campaigns',
        campaign,
        sends,
        stats,
        events: events.items,
        eventsHasMore: events.nextCursor !== null,
        chart: chartSeries(stats),
        actions: actionsFor(campaign),
        isEditable: canEdit(campaign),
        nextSend: nextSendOf(campaign),
        notice: extra.notice ?? null,
        actionError: extra.actionError ?? null,
      },
      status,
    );
  }

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
      if (!ID_PATTERN.test(id)) throw new AppError(404, 'not_found', 'Not found', `No campaign with id ${id}.`);
      const notice = (request.query as Record<string, unknown>).notice;
      return showCampaign(request, reply, id, { notice: typeof notice === 'string' ? (NOTICES[notice] ?? null) : null });
    });

    app.post('/campaigns/:id/:action', async (request, reply) => {
      const { principal } = request.dashboard!;
      const { id, action } = request.params as { id: string; action: string };
      if (!ID_PATTERN.test(id)) throw new AppError(404, 'not_found', 'Not found', `No campaign with id ${id}.`);
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
