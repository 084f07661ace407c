import type { SimList, StoredMessage } from './store.ts';
import type { Snapshot } from './lifecycle.ts';

/**
 * Variants OFAuth may plausibly answer with (contract §2, §3.9), switchable so the client's
 * leniency is exercised over the wire and not only in unit tests.
 */
export interface SimQuirks {
  /** Lists and stats pages as bare arrays instead of `{list, hasMore}`. */
  bareArrays?: boolean;
  /** Ids and counts as numeric strings. */
  numbersAsStrings?: boolean;
  /** price as a number instead of "5.00". */
  priceAsNumber?: boolean;
  /** No sentCount/viewedCount/purchasedCount in stats items. */
  omitCounts?: boolean;
  /** Unsend a chat message only by the SDK's path: the guide's answers 404 ROUTE_NOT_FOUND. */
  onlySdkChatUnsend?: boolean;
}

const SENDER = { id: 424242, _view: 'm' };

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** OFAuth returns markdown text as HTML; plain text (isMarkdown:false) comes back unchanged. */
export function renderText(text: string | undefined, isMarkdown: boolean | null | undefined): string {
  if (text === undefined || text === '') return '';
  return isMarkdown === false ? text : `<p>${escapeHtml(text)}</p>`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function numberOut(value: number, quirks: SimQuirks): number | string {
  return quirks.numbersAsStrings === true ? String(value) : value;
}

/** `date`: the schedule when one was given, else creation time. */
function messageDate(message: StoredMessage): string {
  return iso(message.hasScheduledDate ? message.scheduledAt : message.createdAt);
}

/** Create/update answer, contract §2.2. */
export function renderQueueStatus(message: StoredMessage, snap: Snapshot, quirks: SimQuirks): Record<string, unknown> {
  return {
    id: numberOut(message.id, quirks),
    date: messageDate(message),
    isReady: true,
    isDone: snap.state === 'sent' || snap.state === 'unsent',
    total: message.audience,
    pending: snap.state === 'canceled' ? 0 : message.audience - snap.sentCount,
    canUnsend: snap.canUnsend,
    unsendSeconds: snap.unsendSeconds,
    hasError: false,
    isCanceled: snap.state === 'canceled' || snap.state === 'unsent',
    isCouplePeopleMedia: false,
  };
}

function renderMedia(message: StoredMessage): Array<Record<string, unknown>> {
  return (message.body.mediaItems ?? []).map((item, index) => ({
    id: typeof item === 'number' ? item : /^\d+$/.test(item) ? Number(item) : 900_000 + index,
    type: 'photo',
    convertedToVideo: false,
    canView: true,
    hasError: false,
    isReady: true,
    createdAt: iso(message.createdAt),
    releaseForms: [],
  }));
}

/**
 * A message as the stats list and delete return it (contract §2.3). `withCounts: false` gives
 * the documented single-message GET shape, which has no sent/viewed/purchased counts.
 */
export function renderStatsItem(
  message: StoredMessage,
  snap: Snapshot,
  quirks: SimQuirks,
  withCounts = true,
): Record<string, unknown> {
  const media = renderMedia(message);
  const price = message.body.price ?? 0;
  const previewCount = message.body.previewMediaCount ?? 0;
  const item: Record<string, unknown> = {
    id: numberOut(message.id, quirks),
    text: renderText(message.body.text, message.body.isMarkdown),
    textCropped: (message.body.text ?? '').slice(0, 100),
    fromUser: SENDER,
    media,
    previews: media.slice(0, previewCount).map((m) => m.id),
    mediaCount: numberOut(media.length, quirks),
    mediaTypes: { photo: media.length, video: 0, gif: 0, audio: 0 },
    responseType: 'message',
    isMediaReady: true,
    lockedText: message.body.isLockedText === true,
    isMarkdownDisabled: message.body.isMarkdown === false,
    isFree: !(price > 0),
    date: messageDate(message),
    createdAt: iso(message.createdAt),
    changedAt: iso(message.updatedAt),
    isCanceled: snap.state === 'canceled' || snap.state === 'unsent',
    hasError: false,
    canUnsend: snap.canUnsend,
    unsendSeconds: snap.unsendSeconds,
    queueId: numberOut(message.id, quirks),
    isFromQueue: true,
    canUnsendQueue: snap.canUnsend,
    unsendSecondsQueue: snap.unsendSeconds,
    cancelSeconds: snap.state === 'scheduled' ? Math.max(0, Math.ceil((message.scheduledAt - message.updatedAt) / 1000)) : 0,
    canSendMessageToBuyers: price > 0,
  };
  // Free messages carry no price at all, as in upstream examples.
  if (price > 0) item.price = quirks.priceAsNumber === true ? price : price.toFixed(2);
  if (withCounts && quirks.omitCounts !== true) {
    item.sentCount = numberOut(snap.sentCount, quirks);
    item.viewedCount = numberOut(snap.viewedCount, quirks);
    if (price > 0) item.purchasedCount = numberOut(snap.purchasedCount, quirks);
  }
  return item;
}

/** UserList, contract §3.9. */
export function renderUserList(list: SimList, quirks: SimQuirks): Record<string, unknown> {
  return {
    id: list.id,
    type: 'custom',
    name: list.name,
    usersCount: numberOut(list.size, quirks),
    postsCount: 0,
    sortList: [{ order: 'recent', direction: 'desc' }],
    users: [],
    canUpdate: true,
    canDelete: true,
    canManageUsers: true,
    canAddUsers: true,
  };
}

/** A page as `{list, hasMore}`, or a bare array under the quirk. */
export function renderPage(list: unknown[], hasMore: boolean, quirks: SimQuirks): unknown {
  return quirks.bareArrays === true ? list : { list, hasMore };
}
