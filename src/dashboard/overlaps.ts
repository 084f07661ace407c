import type { FastifyRequest } from 'fastify';
import type { OverlapView } from '../audience/schemas.ts';
import { putFlash, takeFlash } from './session.ts';

/*
 * Overlap warnings as the dashboard shows them: the preview's `overlaps`, and a save's
 * `warnings` carried to the campaign page over the redirect (in the session cookie, so only a
 * few, with the count of the rest).
 */

/** One overlapping send, its time left for the page to show in the marketer's zone. */
export interface OverlapLine {
  campaignId: string;
  campaignName: string;
  plannedAt: string;
  status: string;
  /** "lists 1, 3 and 2 fan ids". */
  shares: string;
}

export interface Warnings {
  lines: OverlapLine[];
  /** All the save reported (lines holds the first FLASHED_MAX). */
  total: number;
}

const FLASHED_MAX = 5;
const NAME_MAX = 80;

function sharesOf(o: OverlapView): string {
  return [
    o.sharedUserLists.length > 0 ? `list${o.sharedUserLists.length > 1 ? 's' : ''} ${o.sharedUserLists.join(', ')}` : null,
    o.sharedChatFilters.length > 0 ? `chat filter${o.sharedChatFilters.length > 1 ? 's' : ''} ${o.sharedChatFilters.join(', ').replaceAll('_', ' ')}` : null,
    o.sharedFans > 0 ? `${o.sharedFans} fan id${o.sharedFans > 1 ? 's' : ''}` : null,
  ]
    .filter((part) => part !== null)
    .join(' and ');
}

/** The overlaps to show; `ownCampaignId` drops the campaign's own sends (a preview of an edit sees them). */
export function overlapLines(overlaps: readonly OverlapView[], ownCampaignId: string | null = null): OverlapLine[] {
  return overlaps
    .filter((o) => o.campaignId !== ownCampaignId)
    .map((o) => ({ campaignId: o.campaignId, campaignName: o.campaignName, plannedAt: o.plannedAt, status: o.status, shares: sharesOf(o) }));
}

/** Keeps a save's warnings for the campaign page the save redirects to. */
export function flashWarnings(request: FastifyRequest, campaignId: string, warnings: readonly OverlapView[] | undefined): void {
  if (!warnings || warnings.length === 0) return;
  const lines = overlapLines(warnings).slice(0, FLASHED_MAX).map((line) => ({ ...line, campaignName: line.campaignName.slice(0, NAME_MAX) }));
  putFlash(request, JSON.stringify({ campaignId, lines, total: warnings.length }));
}

const isLine = (x: unknown): x is OverlapLine => {
  const o = x as Record<string, unknown>;
  return typeof o === 'object' && o !== null && ['campaignId', 'campaignName', 'plannedAt', 'status', 'shares'].every((k) => typeof o[k] === 'string');
};

/** The warnings a save of this campaign left, once; null when there are none (or they are another page's). */
export function takeWarnings(request: FastifyRequest, campaignId: string): Warnings | null {
  const text = takeFlash(request);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as { campaignId?: unknown; lines?: unknown; total?: unknown };
    if (parsed.campaignId !== campaignId || !Array.isArray(parsed.lines) || !parsed.lines.every(isLine) || typeof parsed.total !== 'number') return null;
    return { lines: parsed.lines, total: parsed.total };
  } catch {
    return null;
  }
}
