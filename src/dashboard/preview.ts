import type { PreviewView } from '../audience/schemas.ts';
import type { CampaignView } from '../campaigns/schemas.ts';
import { overlapLines, type OverlapLine } from './overlaps.ts';

/** The form's Preview: what the audience service's preview answered, as the form shows it. */
export interface FormPreview {
  audience: PreviewView['audience'];
  sendAt: string | null;
  overlaps: OverlapLine[];
}

/** `ownCampaignId`: an edit's preview leaves out the campaign's own sends, which it would replace. */
export function previewOf(view: PreviewView, ownCampaignId: string | null): FormPreview {
  return { audience: view.audience, sendAt: view.sendAt, overlaps: overlapLines(view.overlaps, ownCampaignId) };
}

/**
 * An edit as the create body a preview takes: the campaign with the PATCH's fields laid over
 * it (what the form leaves out of a PATCH stays as the campaign has it).
 */
export function editedBody(campaign: CampaignView, patch: Record<string, unknown>): Record<string, unknown> {
  const has = (key: string) => Object.hasOwn(patch, key);
  return {
    name: patch.name,
    connectionId: campaign.connectionId,
    message: patch.message,
    audience: patch.audience,
    scheduledAt: has('scheduledAt') ? patch.scheduledAt : campaign.scheduledAt,
    recurrence: has('recurrence') ? patch.recurrence : (campaign.recurrence ?? null),
    status: 'scheduled',
    followUps: has('followUps') ? patch.followUps : (campaign.followUps ?? []),
  };
}
