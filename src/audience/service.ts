import type { Clock } from '../clock.ts';
import type { CampaignService } from '../campaigns/service.ts';
import type { CreateCampaignBody } from '../campaigns/schemas.ts';
import { iso } from '../campaigns/view.ts';
import { chatFiltersOf } from '../campaigns/model.ts';
import { NotFoundError, UpstreamError } from '../errors.ts';
import type { Store } from '../store/types.ts';
import { describeFailure } from '../sync/outcomes.ts';
import { toMassMessageBody } from '../sync/remote-body.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import type { CatalogRead, ListCatalog } from './list-catalog.ts';
import { findOverlaps, toOverlapView, type OverlapSubject } from './overlaps.ts';
import type { OverlapView, PreviewView } from './schemas.ts';

export interface AudienceServiceDeps {
  store: Pick<Store, 'campaigns' | 'connections'>;
  catalog: ListCatalog;
  campaigns: CampaignService;
  clock: Clock;
  settings: { overlapWindowMs: number; resolveLeadMs: number };
}

/** How long a preview waits for OFAuth's lists before answering without their sizes. */
const PREVIEW_LISTS_TIMEOUT_MS = 3_000;

/** Connections, OFAuth's lists by name, and audiences before they are sent. */
export function createAudienceService(deps: AudienceServiceDeps) {
  const { store, catalog, clock } = deps;

  async function overlaps(subject: OverlapSubject): Promise<OverlapView[]> {
    return (await findOverlaps(store.campaigns, subject, deps.settings.overlapWindowMs)).map(toOverlapView);
  }

  async function readLists(connectionId: string, signal?: AbortSignal): Promise<CatalogRead> {
    try {
      return await catalog.read(connectionId, { signal });
    } catch (error) {
      throw new UpstreamError(`OFAuth could not be asked for the lists of ${connectionId}: ${describeFailure(error).message}`);
    }
  }

  return {
    overlaps,

    /** Every connection Fanout has seen that the caller may use. */
    async connections(principal: Principal) {
      const rows = await store.connections.list(principal.connectionIds);
      return {
        items: rows.map((c) => ({
          id: c.id,
          isPaused: c.pausedAt !== null,
          pausedAt: iso(c.pausedAt),
          pauseReason: c.pauseReason,
          lastSuccessAt: iso(c.lastSuccessAt),
          campaigns: c.campaigns,
          sendsQueued: c.sendsQueued,
        })),
      };
    },

    /** OFAuth's user lists of a connection, names and sizes, cached for LISTS_CACHE_TTL; `signal` bounds the wait (a page's). */
    async lists(principal: Principal, connectionId: string, options: { signal?: AbortSignal } = {}) {
      if (!canAccessConnection(principal, connectionId)) throw new NotFoundError('connection', connectionId);
      const read = await readLists(connectionId, options.signal);
      return { items: read.lists, readAt: iso(read.readAt)! };
    },

    /**
     * What a create would make of this body, and would send, without storing anything: the
     * estimated audience, OFAuth's body, and the overlaps a create would warn about.
     */
    async preview(principal: Principal, body: CreateCampaignBody): Promise<PreviewView> {
      const { campaign, sends } = deps.campaigns.draft(principal, body);
      const { audience } = campaign;
      let read: CatalogRead | null = null;
      let listsUnavailable: string | null = null;
      if (audience.userLists.length + audience.excludeUserLists.length > 0) {
        try {
          read = await readLists(campaign.connectionId, AbortSignal.timeout(PREVIEW_LISTS_TIMEOUT_MS));
        } catch (error) {
          listsUnavailable = error instanceof Error ? error.message : String(error);
        }
      }
      const estimateOf = (id: number) => {
        const list = read?.lists.find((l) => String(l.id) === String(id));
        return { id, name: list?.name ?? null, size: list?.size ?? null, isKnown: read === null ? null : list !== undefined };
      };
      const userLists = audience.userLists.map(estimateOf);
      const excludeUserLists = audience.excludeUserLists.map(estimateOf);
      const filters = chatFiltersOf(audience);
      const sources = (audience.userIds.length > 0 ? 1 : 0) + userLists.length + filters.length;
      const sendAt = sends[0]?.dueAt ?? campaign.nextOccurrenceAt ?? campaign.scheduledAt;
      return {
        audience: {
          estimatedFans: audience.userIds.length + userLists.reduce((sum, l) => sum + (l.size ?? 0), 0),
          isUpperBound: sources > 1 || excludeUserLists.length > 0 || audience.subscribedAfterDate !== null,
          isComplete: filters.length === 0 && userLists.every((l) => l.size !== null),
          userIds: audience.userIds.length,
          userLists,
          excludeUserLists,
          chatFilters: filters.map((filter) => ({ filter, fans: null, note: `unknown until resolved, ${Math.round(deps.settings.resolveLeadMs / 60_000)} min before the send (AUDIENCE_RESOLVE_LEAD)` })),
          listsReadAt: read === null ? null : iso(read.readAt),
          listsUnavailable,
        },
        sendAt: iso(sendAt),
        ofauthBody: toMassMessageBody(campaign, sendAt) as Record<string, unknown>,
        overlaps: await overlaps({ campaignId: null, connectionId: campaign.connectionId, audience, plannedAt: sendAt ?? clock.now() }),
      };
    },
  };
}

export type AudienceService = ReturnType<typeof createAudienceService>;
