import type { SendKind, SendStatus, SyncState } from '../campaigns/model.ts';

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
}

export type SendChanges = Partial<Omit<Send, 'id' | 'campaignId' | 'connectionId' | 'kind' | 'createdAt'>>;

/** What a new send needs; every other field starts at its default. */
export type NewSend = Pick<Send, 'id' | 'campaignId' | 'connectionId' | 'kind' | 'occurrenceAt' | 'dueAt' | 'revision' | 'status' | 'createdAt' | 'updatedAt'> &
  Partial<Pick<Send, 'reason' | 'lastError' | 'syncState' | 'syncDueAt'>>;

/** A send with every default filled in: what the store writes for a NewSend. */
export function sendDefaults(send: NewSend): Send {
  return {
    reason: null,
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
    ...send,
  };
}

/** Statuses a send never leaves on its own: nothing more will happen to it remotely. */
export const FINAL_SEND_STATUSES = ['sent', 'failed', 'canceled'] as const;
export const isFinalSend = (status: SendStatus): boolean => (FINAL_SEND_STATUSES as readonly SendStatus[]).includes(status);
