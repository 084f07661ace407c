import type { Audience, Message, SendKind, SendStatus, SyncState } from '../campaigns/model.ts';

/**
 * A follow-up's plan and progress, recorded as it goes so a crash resumes rather than repeats:
 * the original's remote message and audience (fixed when the follow-up is made), and the buyers
 * list's intent, id and how many buyers were added to it.
 */
export interface FollowUpPlan {
  /** The original's OFAuth mass message, whose buyers are read. */
  parentRemoteId: string;
  /** The original's audience when the follow-up was made. */
  audience: Audience;
  /** The follow-up's message when it was made (later edits of the campaign's followUps do not reach it). */
  message: Message;
  /** fan_ids: subtract the buyers; buyers_list: exclude an OFAuth list of them. */
  path: 'fan_ids' | 'buyers_list';
  /** Deterministic, so a create of unknown outcome can be looked up by name. */
  buyersListName: string;
  /** Set before the list's create call; with no id yet, the create's outcome is unknown. */
  buyersListStartedAt: number | null;
  buyersListId: number | null;
  /** The buyers read so far (for the list: fixed once read, so the adds can resume). */
  buyerIds: number[] | null;
  /** Where reading the buyers goes on in the next step; null once read whole (or not started). */
  buyersCursor: { marker: string | null; offset: number } | null;
  /** How many of buyerIds are in the list. */
  buyersAdded: number;
}

/**
 * A chat-filter audience as resolved for one send: the fan ids it is sent to (with the
 * campaign's own userIds), stored before the create so a retry or a crash re-sends the same
 * audience. `key` names the audience it was resolved from (see audienceKey): an edit to the
 * audience makes it stale.
 */
export interface ResolvedAudience {
  key: string;
  fanIds: number[];
  resolvedAt: number;
  /** Chat pages read to resolve it. */
  pages: number;
}

/** One OFAuth mass message made from a campaign: the unit that sync and stats work on. */
export interface Send {
  id: string;
  campaignId: string;
  connectionId: string;
  kind: SendKind;
  /** The series occurrence this send is; null for a one-shot. */
  occurrenceAt: number | null;
  /** When it should go out; null: as soon as synced. */
  dueAt: number | null;
  /** A follow-up's original send and its place in the campaign's followUps; null otherwise. */
  parentSendId: string | null;
  followUpIndex: number | null;
  followUp: FollowUpPlan | null;
  /** An original's follow-ups made so far. */
  followUpsMade: number;
  /** When an original next owes a follow-up (see followUpCheckAt); null: it owes none. */
  followUpCheckAt: number | null;
  /** The campaign revision this send should carry. */
  revision: number;
  status: SendStatus;
  /** Why it failed or was canceled (missed_window, ofauth_rejected, remote_error, paused, …). */
  reason: string | null;
  createdAt: number;
  updatedAt: number;

  syncState: SyncState;
  remoteId: string | null;
  remoteDeletedAt: number | null;
  syncedRevision: number;
  createStartedAt: number | null;
  createRevision: number | null;
  createFingerprint: string | null;
  createAmbiguous: boolean;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: number | null;
  lastSyncedAt: number | null;
  syncDueAt: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;

  remoteList: 'scheduled' | 'unsent' | 'sent' | null;
  remoteSeenAt: number | null;
  sentAt: number | null;
  sentCount: number | null;
  viewedCount: number | null;
  purchasedCount: number | null;
  /** The price OFAuth reported, in integer cents. */
  remotePrice: number | null;
  statsObservedAt: number | null;
  remoteMissingAt: number | null;
  /** Null unless the campaign's audience has chat filters and they were resolved for this send. */
  resolvedAudience: ResolvedAudience | null;

  // Test sends and unsends (see src/sync/unsend.ts and src/sync/test-send.ts).
  /** A test send's recipient (fan id); null for mass messages. */
  testUserId: number | null;
  /** A test send's OFAuth chat message id (apart from remoteId: another id space). */
  chatMessageId: string | null;
  /** The campaign's message.unsendAfter in ms, stamped when the send was sent; null: never. */
  unsendAfterMs: number | null;
  /** A marketer asked for an unsend at this time. */
  unsendRequestedAt: number | null;
  /** Set before the unsend call and cleared once its outcome is known. */
  unsendStartedAt: number | null;
  unsentAt: number | null;
  /** When OFAuth's unsend window closes, as last seen (canUnsend / unsendSeconds); null: unknown. */
  unsendableUntil: number | null;
}

export type SendChanges = Partial<Omit<Send, 'id' | 'campaignId' | 'connectionId' | 'kind' | 'createdAt'>>;

/** What a new send needs; every other field starts at its default. */
export type NewSend = Pick<Send, 'id' | 'campaignId' | 'connectionId' | 'kind' | 'occurrenceAt' | 'dueAt' | 'revision' | 'status' | 'createdAt' | 'updatedAt'> &
  Partial<Pick<Send, 'reason' | 'lastError' | 'syncState' | 'syncDueAt' | 'parentSendId' | 'followUpIndex' | 'followUp' | 'testUserId'>>;

/** A send with every default filled in: what the store writes for a NewSend. */
export function sendDefaults(send: NewSend): Send {
  return {
    reason: null,
    parentSendId: null,
    followUpIndex: null,
    followUp: null,
    followUpsMade: 0,
    followUpCheckAt: null,
    syncState: 'idle',
    remoteId: null,
    remoteDeletedAt: null,
    syncedRevision: 0,
    createStartedAt: null,
    createRevision: null,
    createFingerprint: null,
    createAmbiguous: false,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    lastSyncedAt: null,
    syncDueAt: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    remoteList: null,
    remoteSeenAt: null,
    sentAt: null,
    sentCount: null,
    viewedCount: null,
    purchasedCount: null,
    remotePrice: null,
    statsObservedAt: null,
    remoteMissingAt: null,
    resolvedAudience: null,
    testUserId: null,
    chatMessageId: null,
    unsendAfterMs: null,
    unsendRequestedAt: null,
    unsendStartedAt: null,
    unsentAt: null,
    unsendableUntil: null,
    ...send,
  };
}

/** Statuses a send never leaves on its own: nothing more will happen to it remotely. */
export const FINAL_SEND_STATUSES = ['sent', 'unsent', 'failed', 'canceled'] as const;
export const isFinalSend = (status: SendStatus): boolean => (FINAL_SEND_STATUSES as readonly SendStatus[]).includes(status);
