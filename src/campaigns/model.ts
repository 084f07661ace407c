export const campaignStatuses = ['draft', 'scheduled', 'queued', 'sending', 'sent', 'canceled', 'failed'] as const;
export type CampaignStatus = (typeof campaignStatuses)[number];

/**
 * What the reconciler is doing about a campaign, as the marketer sees it:
 * idle (nothing to do yet), pending (work is due), creating (a create is in flight or its outcome
 * is being resolved), synced, retrying (backing off after a failure), paused (the connection
 * failed auth), deleted (the remote copy is gone), error (OFAuth refused; needs a change).
 */
export const syncStates = ['idle', 'pending', 'creating', 'synced', 'retrying', 'paused', 'deleted', 'error'] as const;
export type SyncState = (typeof syncStates)[number];

export interface ReleaseForms {
  users: number[];
  partners: number[];
  guests: number[];
}

/** The mass message itself, stored with every default filled in. */
export interface Message {
  text: string;
  mediaItems: Array<number | string>;
  price: number;
  previewMediaCount: number;
  isLockedText: boolean;
  isMarkdown: boolean;
  userTags: number[];
  releaseForms: ReleaseForms;
}

/** Who receives it; ids are normalised to numbers and de-duplicated. */
export interface Audience {
  userIds: number[];
  userLists: number[];
  excludeUserLists: number[];
  subscribedAfterDate: string | null;
}
