/**
 * A one-shot campaign's status mirrors its one send (scheduled while the send is pending); a
 * series is draft, scheduled (running), paused, canceled or completed.
 */
export const campaignStatuses = ['draft', 'scheduled', 'queued', 'sending', 'sent', 'unsent', 'canceled', 'failed', 'paused', 'completed'] as const;
export type CampaignStatus = (typeof campaignStatuses)[number];

/**
 * One OFAuth mass message's life: pending (not yet in OFAuth's queue) → queued → sending → sent,
 * and unsent once Fanout took it back. `unknown` is a test send whose outcome could not be told
 * (a timeout or reset after the request left): it is never sent again blindly.
 */
export const sendStatuses = ['pending', 'queued', 'sending', 'sent', 'unsent', 'unknown', 'canceled', 'failed'] as const;
export type SendStatus = (typeof sendStatuses)[number];

/**
 * scheduled: a one-shot campaign's send; occurrence: one of a series; follow_up: a PPV's second
 * message to the fans one of those reached who did not buy (made `after` it was sent); test: one
 * chat message to one fan before the blast (never counted in stats, never moving the campaign).
 */
export const sendKinds = ['scheduled', 'occurrence', 'follow_up', 'test'] as const;
export type SendKind = (typeof sendKinds)[number];

/** A series: a five-field cron in an IANA time zone, with optional ends (epoch ms / a count). */
export interface Recurrence {
  cron: string;
  timezone: string;
  endsAt: number | null;
  maxOccurrences: number | null;
}

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
  /**
   * Seconds after a send went out that sync unsends it (the agencies' "delete if unread"); null
   * or absent (campaigns saved before it existed): never.
   */
  unsendAfter?: number | null;
}

/** OFAuth's chat-list filters (GET /v2/access/chats?filter=…): the fans of the matching chats. */
export const chatFilters = ['priority', 'unread', 'who_tipped'] as const;
export type ChatFilter = (typeof chatFilters)[number];

/** Who receives it; ids are normalised to numbers and de-duplicated. */
export interface Audience {
  userIds: number[];
  userLists: number[];
  excludeUserLists: number[];
  subscribedAfterDate: string | null;
  /**
   * Resolved to fan ids shortly before the send is created (see src/audience/resolve.ts) and
   * joined with userIds. Absent on campaigns stored before chat filters existed, and whenever
   * empty, so their stored JSON and views are unchanged.
   */
  chatFilters?: ChatFilter[];
}

/** A PPV campaign's follow-up: `message` to the fans a send reached minus its buyers, `afterMs` after it was sent. */
export interface FollowUp {
  afterMs: number;
  message: Message;
  audience: 'non_buyers';
}

/** The audience as stored: chatFilters only when there are some (see Audience.chatFilters). */
export function normalizeAudience<A extends Audience>(audience: A): Audience {
  const { chatFilters: filters, ...rest } = audience;
  return filters && filters.length > 0 ? { ...rest, chatFilters: filters } : rest;
}

/** The audience's chat filters; [] when it has none. */
export const chatFiltersOf = (audience: Audience): ChatFilter[] => audience.chatFilters ?? [];

/** The marketer's plan: what to send, to whom, and when (once, or as a series). */
export interface Campaign {
  id: string;
  name: string;
  connectionId: string;
  message: Message;
  audience: Audience;
  /** One-shot: the send time (null: as soon as synced). Series: its start (null: from creation). */
  scheduledAt: number | null;
  recurrence: Recurrence | null;
  /** Follow-ups of each send, earliest first; null when it has none. */
  followUps: FollowUp[] | null;
  /** How many follow-ups there are (followUps' length, kept as a column for the materialiser's query). */
  followUpCount: number;
  /** Set when the marketer canceled the campaign: no follow-up is made after this. */
  followUpsCanceledAt: number | null;
  status: CampaignStatus;
  revision: number;
  failureReason: string | null;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  /** Series bookkeeping; see the campaigns table. */
  seriesCursorAt: number | null;
  occurrenceCount: number;
  nextOccurrenceAt: number | null;
  missedBefore: number | null;
  seriesDueAt: number | null;
}

export type CampaignChanges = Partial<Omit<Campaign, 'id' | 'connectionId' | 'createdBy' | 'createdAt'>>;
