import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CampaignView } from '../campaigns/schemas.ts';
import { allowedFrom, type MarketerAction } from '../campaigns/transitions.ts';
import { isTestable } from '../sends/actions.ts';
import type { CampaignStatsView } from '../stats/schemas.ts';
import type { Warnings } from './overlaps.ts';
import type { Dashboard } from './plugin.ts';
import { nextSendOf } from './view-helpers.ts';

const SENDS_SHOWN = 50;
const EVENTS_SHOWN = 200;

export type Action = Exclude<MarketerAction, 'edit'> | 'sync';

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

/** ?notice= keys and what they say; a fixed table, so a link can never put text on the page. */
export const NOTICES: Record<string, string> = {
  created: 'Campaign saved.',
  updated: 'Changes saved.',
  schedule: 'Campaign scheduled.',
  cancel: 'Campaign canceled.',
  pause: 'Series paused: no new sends until it is resumed.',
  resume: 'Series resumed from its next occurrence.',
  sync: 'Sync requested.',
  delete: 'Campaign deleted.',
  'test-sent': 'Test message sent: it is in the sends below, marked as a test.',
  'test-pending': 'Test send recorded: the sync loop sends it shortly (see the sends below).',
  'test-unknown': 'The test send\'s outcome is not known yet: Fanout checks OFAuth before it would ever send it again.',
  'test-failed': 'The test send failed: its reason is in the sends below.',
  unsent: 'Message unsent.',
  'unsend-requested': 'Unsend asked for: the sync loop finishes it shortly.',
};

/** What the page shows beside the campaign: a notice, a refused action, the test-send form as posted. */
export interface CampaignPageExtras {
  notice?: string | null;
  actionError?: string | null;
  testSend?: { userId: string; error: string | null };
  /** The overlaps the save that led here reported. */
  warnings?: Warnings | null;
}

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

/** Renders one campaign's page, as the signed-in principal may see it (404 otherwise). */
export function campaignPage(dashboard: Dashboard) {
  const { services } = dashboard.fanout;
  return async function showCampaign(request: FastifyRequest, reply: FastifyReply, id: string, extra: CampaignPageExtras = {}, status = 200) {
    const { principal } = request.dashboard!;
    const campaign = await services.campaigns.get(principal, id);
    const isTestAllowed = isTestable(campaign.status);
    // A test refused because the campaign moved on: said at the top, as the form is gone.
    const testError = isTestAllowed ? null : (extra.testSend?.error ?? null);
    const [sends, stats, events] = await Promise.all([
      services.sends.listWithUnsend(principal, id, { limit: SENDS_SHOWN }),
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
        isTestable: isTestAllowed,
        testSend: extra.testSend ?? { userId: '', error: null },
        nextSend: nextSendOf(campaign),
        notice: extra.notice ?? null,
        actionError: extra.actionError ?? testError,
        warnings: extra.warnings ?? null,
      },
      status,
    );
  };
}
