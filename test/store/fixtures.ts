import { oneShotSend } from '../../src/campaigns/decide.ts';
import type { Audience, Campaign, Message, Recurrence } from '../../src/campaigns/model.ts';
import type { EventSpec } from '../../src/events/types.ts';
import { newCampaignId, newSendId } from '../../src/ids.ts';
import type { StatsItem } from '../../src/ofauth/schemas.ts';
import type { NewSend, Send, SendChanges } from '../../src/sends/model.ts';
import type { CampaignRecord, IdempotencyInput, Store, StoredResponse, TokenRecord } from '../../src/store/types.ts';

/*
 * Rows for the store contract suite, built only through the store interface so the same
 * fixtures serve every backend. Times are fixed; ids are minted from those times, so creation
 * order is id order (what the keyset lists rely on).
 */

export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** The suite's RECURRENCE_LEAD: a series is due this long before its next occurrence. */
export const LEAD_MS = HOUR;

export const DAILY_NOON: Recurrence = { cron: '0 12 * * *', timezone: 'UTC', endsAt: null, maxOccurrences: null };

export function message(overrides: Partial<Message> = {}): Message {
  return {
    text: 'New set drops tonight',
    mediaItems: [4211, 'upload_9f2'],
    price: 9.99,
    previewMediaCount: 1,
    isLockedText: false,
    isMarkdown: false,
    userTags: [],
    releaseForms: { users: [], partners: [], guests: [] },
    ...overrides,
  };
}

export function audience(overrides: Partial<Audience> = {}): Audience {
  return { userIds: [], userLists: [1201], excludeUserLists: [1305], subscribedAfterDate: null, ...overrides };
}

/** A campaign as the service's build makes it; a one-shot scheduled an hour after `at` by default. */
export function campaignAt(at: number, overrides: Partial<Campaign> = {}): Campaign {
  return {
    id: newCampaignId(at),
    name: 'Friday PPV drop',
    connectionId: 'conn_a',
    message: message(),
    audience: audience(),
    scheduledAt: at + HOUR,
    recurrence: null,
    followUps: null,
    followUpCount: 0,
    followUpsCanceledAt: null,
    status: 'scheduled',
    revision: 1,
    failureReason: null,
    createdBy: 'alice',
    createdAt: at,
    updatedAt: at,
    seriesCursorAt: null,
    occurrenceCount: 0,
    nextOccurrenceAt: null,
    missedBefore: null,
    seriesDueAt: null,
    ...overrides,
  };
}

/** The one-shot campaign's send, exactly as scheduling it makes it. */
export const oneShotSendOf = (campaign: Campaign, at: number): NewSend => oneShotSend(campaign, at);

/** One occurrence of a series, as the materialiser makes it. */
export function occurrenceSendOf(campaign: Campaign, occurrenceAt: number, at: number): NewSend {
  return {
    id: newSendId(at),
    campaignId: campaign.id,
    connectionId: campaign.connectionId,
    kind: 'occurrence',
    occurrenceAt,
    dueAt: occurrenceAt,
    revision: campaign.revision,
    status: 'pending',
    createdAt: at,
    updatedAt: at,
  };
}

export const createdEvent = (campaign: Campaign): EventSpec => ({ type: 'created', actor: campaign.createdBy, data: { status: campaign.status, revision: 1 } });

/** A JSON-safe response, as the routes store one for Idempotency-Key replays. */
export const respondWith = (record: CampaignRecord): StoredResponse => ({
  statusCode: 201,
  body: { id: record.campaign.id, status: record.campaign.status, sendId: record.send?.id ?? null },
});

export interface Created {
  record: CampaignRecord;
  campaign: Campaign;
  /** The one-shot's send; for a series its first send (undefined when made with none). */
  send: Send;
  sends: Send[];
}

/** Creates a campaign with these sends (no idempotency) and returns what the store holds. */
export async function createWith(store: Store, at: number, campaign: Campaign, newSends: NewSend[], idempotency: IdempotencyInput | null = null): Promise<Created> {
  let record: CampaignRecord | undefined;
  await store.campaigns.create({
    now: at,
    idempotency,
    build: () => ({ campaign, sends: newSends, events: [createdEvent(campaign)] }),
    respond: (r) => {
      record = r;
      return respondWith(r);
    },
  });
  if (!record) throw new Error('create did not call respond');
  const found = await Promise.all(newSends.map((s) => store.campaigns.findSend(s.id)));
  const sends = found.filter((s): s is Send => s !== null);
  return { record, campaign: record.campaign, send: sends[0]!, sends };
}

/** A scheduled one-shot campaign with its pending send. */
export async function createOneShot(store: Store, at: number, overrides: Partial<Campaign> = {}): Promise<Created> {
  const campaign = campaignAt(at, overrides);
  return createWith(store, at, campaign, [oneShotSendOf(campaign, at)]);
}

export async function createDraft(store: Store, at: number, overrides: Partial<Campaign> = {}): Promise<CampaignRecord> {
  return (await createWith(store, at, campaignAt(at, { status: 'draft', ...overrides }), [])).record;
}

/** A running daily series whose next occurrence is `nextOccurrenceAt`, with sends for `occurrences`. */
export async function createSeries(store: Store, at: number, options: { nextOccurrenceAt: number; occurrences?: number[] }, overrides: Partial<Campaign> = {}): Promise<Created> {
  const campaign = campaignAt(at, {
    recurrence: DAILY_NOON,
    scheduledAt: null,
    nextOccurrenceAt: options.nextOccurrenceAt,
    occurrenceCount: options.occurrences?.length ?? 0,
    ...overrides,
  });
  return createWith(store, at, campaign, (options.occurrences ?? []).map((o) => occurrenceSendOf(campaign, o, at)));
}

/** Writes changes to one open send through mutate (as a marketer action or a loop would) and returns it. */
export async function changeSend(store: Store, send: Pick<Send, 'id' | 'campaignId'>, now: number, changes: SendChanges): Promise<Send> {
  const record = await store.campaigns.mutate(send.campaignId, now, () => ({ sends: [{ id: send.id, changes }] }));
  if (!record) throw new Error(`campaign ${send.campaignId} not found`);
  const fresh = await store.campaigns.findSend(send.id);
  if (!fresh) throw new Error(`send ${send.id} not found`);
  return fresh;
}

/** A send the sync created in OFAuth: queued there under `remoteId`, nothing more owed. */
export function queuedRemotely(remoteId: string, now: number): SendChanges {
  return { status: 'queued', remoteId, syncedRevision: 1, lastSyncedAt: now, remoteList: 'scheduled' };
}

/** A send the poller found sent, with its counts. */
export function sentRemotely(remoteId: string, sentAt: number, counts: { sentCount: number; viewedCount: number; purchasedCount: number; remotePrice?: number | null }): SendChanges {
  return {
    status: 'sent',
    remoteId,
    syncedRevision: 1,
    remoteList: 'sent',
    remoteSeenAt: sentAt,
    sentAt,
    statsObservedAt: sentAt,
    sentCount: counts.sentCount,
    viewedCount: counts.viewedCount,
    purchasedCount: counts.purchasedCount,
    remotePrice: counts.remotePrice ?? null,
  };
}

/** One mass message as OFAuth's stats lists return it. */
export function statsItem(id: number, overrides: Partial<StatsItem> = {}): StatsItem {
  return {
    id,
    queueId: null,
    text: '<p>New set drops tonight</p>',
    date: new Date(T0).toISOString(),
    createdAt: new Date(T0).toISOString(),
    sentCount: 100,
    viewedCount: 40,
    purchasedCount: 3,
    price: 9.99,
    mediaCount: 2,
    isCanceled: false,
    hasError: false,
    canUnsend: false,
    isFree: false,
    ...overrides,
  };
}

export function tokenRecord(id: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return { id, name: `token-${id}`, role: 'marketer', connectionIds: ['conn_a'], secretHash: `hash-${id}`, createdAt: T0, revokedAt: null, ...overrides };
}
