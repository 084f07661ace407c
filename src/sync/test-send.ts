import type { Campaign, Message } from '../campaigns/model.ts';
import type { ChatMessage, ChatMessageBody } from '../ofauth/chat-responses.ts';
import type { SendChanges } from '../sends/model.ts';
import type { SendWork } from '../store/types.ts';
import { CLOCK_SKEW_MS } from './find-remote.ts';
import { backoffChanges, clearedCreate, errorKind, failed, recordCallFailure, type OperationDeps, type Outcome } from './operations.ts';
import { describeFailure, recordOutcome, syncEvent } from './outcomes.ts';
import { unsendAfterMsOf, unsendWindowOf } from './unsend.ts';

/*
 * A test send: the campaign's message as one chat message to one fan, through the same lane as
 * the mass messages (lease, rate budget, intent). OFAuth has no idempotency key here either, so
 * the intent is recorded before the call; a lost answer makes the send `unknown`, and after
 * SYNC_SETTLE a search of that fan's chat decides: found (sent), provably absent (failed,
 * not_delivered: the marketer sends another if they want one), or, after TEST_SEARCH_ATTEMPTS
 * searches that could not finish, left unknown for good and said so. Never sent twice blindly.
 */

/** Searches of the chat after an unknown outcome before Fanout stops and leaves it unknown. */
export const TEST_SEARCH_ATTEMPTS = 5;
/** Pages of the chat read per search (20 messages each), newest first. */
const SEARCH_PAGES = 10;

/** What a chat message must match to be taken for this test send. */
export interface TestFingerprint {
  text: string;
  price: number;
  mediaCount: number;
}

export function testBodyOf(message: Message): ChatMessageBody {
  return {
    text: message.text,
    mediaItems: message.mediaItems,
    price: message.price,
    previewMediaCount: message.previewMediaCount,
    isLockedText: message.isLockedText,
    isMarkdown: message.isMarkdown,
    userTags: message.userTags,
    releaseForms: message.releaseForms,
  };
}

const testFingerprintOf = (message: Message): TestFingerprint => ({ text: message.text, price: message.price, mediaCount: message.mediaItems.length });

/**
 * OFAuth answers text as HTML rendered from markdown: compare letters and digits only, so
 * `**New** set` and `<p><strong>New</strong> set</p>` match.
 */
const comparable = (text: string): string =>
  text
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ')
    .replace(/[^\p{L}\p{N}]+/gu, '')
    .toLowerCase();

export function matchesTest(message: ChatMessage, fingerprint: TestFingerprint): boolean {
  if (comparable(message.text) !== comparable(fingerprint.text)) return false;
  if (message.price !== null && Math.round(message.price * 100) !== Math.round(fingerprint.price * 100)) return false;
  return message.mediaCount === null || message.mediaCount === fingerprint.mediaCount;
}

function deliveredChanges(campaign: Campaign, message: ChatMessage, now: number): SendChanges {
  return {
    ...clearedCreate,
    status: 'sent',
    sentAt: now,
    chatMessageId: String(message.id),
    unsendAfterMs: unsendAfterMsOf(campaign),
    unsendableUntil: unsendWindowOf(message, now),
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    lastSyncedAt: now,
    syncState: 'synced',
  };
}

export async function createTest(deps: OperationDeps, work: SendWork, signal: AbortSignal): Promise<Outcome> {
  const { send, campaign } = work;
  const now = deps.clock.now();
  const userId = send.testUserId;
  if (userId === null) throw new Error(`test send ${send.id} has no recipient`);
  const intent = await recordOutcome(
    deps,
    send.id,
    now,
    () => ({
      changes: { createStartedAt: now, createRevision: send.revision, createFingerprint: JSON.stringify(testFingerprintOf(campaign.message)), createAmbiguous: false, syncState: 'creating' },
      events: [syncEvent(send.id, 'sync_started', { operation: 'test_send', revision: send.revision, userId })],
    }),
    // Durable before the request leaves: after a crash it is the only trace a message may exist.
    { release: false, leaseMs: deps.leaseMs, durable: true },
  );
  if (!intent) return 'lost_lease';
  try {
    const message = await deps.client.sendChatMessage(send.connectionId, userId, testBodyOf(campaign.message), { signal });
    const later = deps.clock.now();
    await deps.connections.markHealthy(send.connectionId, later);
    const done = await recordOutcome(deps, send.id, later, ({ campaign: current }) => ({
      changes: deliveredChanges(current, message, later),
      events: [syncEvent(send.id, 'test_sent', { chatMessageId: String(message.id), userId })],
    }));
    return done ? 'created' : 'lost_lease';
  } catch (error) {
    const kind = errorKind(error);
    const later = deps.clock.now();
    const { message, data } = describeFailure(error);
    if (kind === 'ambiguous' || kind === 'unexpected') {
      await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
        changes: {
          status: 'unknown',
          createAmbiguous: true,
          attempts: fresh.attempts + 1,
          lastError: `Outcome unknown (${message}); the chat is searched after SYNC_SETTLE, and the message is never sent again blindly.`,
          nextAttemptAt: later + deps.settleMs,
          syncState: 'creating',
        },
        events: [syncEvent(send.id, 'sync_error', { operation: 'test_send', ...data })],
      }));
      return 'unknown';
    }
    if (kind === 'invalid') {
      await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
        changes: failed(fresh, 'ofauth_rejected', message, clearedCreate),
        events: [syncEvent(send.id, 'failed', { reason: 'ofauth_rejected', ...data })],
      }));
      return 'failed';
    }
    return recordCallFailure(deps, send, 'test_send', error, clearedCreate);
  }
}

type SearchResult = { outcome: 'found'; message: ChatMessage } | { outcome: 'absent' } | { outcome: 'inconclusive'; reason: string };

/**
 * Reads the fan's chat newest first back to the attempt's start (less the clock skew). Absence is
 * proven only by reaching a message older than that, or the chat's end.
 */
async function searchChat(deps: OperationDeps, work: SendWork, fingerprint: TestFingerprint, startedAt: number, signal: AbortSignal): Promise<SearchResult> {
  const { send } = work;
  const since = startedAt - CLOCK_SKEW_MS;
  let offset = 0;
  for (let page = 0; page < SEARCH_PAGES; page++) {
    const { list, hasMore } = await deps.client.listChatMessages(send.connectionId, send.testUserId!, { limit: 20, offset }, { signal });
    for (const message of list) {
      const createdAt = message.createdAt === null ? null : Date.parse(message.createdAt);
      if (createdAt !== null && Number.isFinite(createdAt) && createdAt < since) return { outcome: 'absent' };
      if (matchesTest(message, fingerprint)) return { outcome: 'found', message };
    }
    if (!hasMore || list.length === 0) return { outcome: 'absent' };
    // One item of overlap: a message arriving meanwhile shifts the pages down by one.
    offset += Math.max(1, list.length - 1);
  }
  return { outcome: 'inconclusive', reason: `the chat has more than ${SEARCH_PAGES} pages since the attempt` };
}

export async function resolveTest(deps: OperationDeps, work: SendWork, signal: AbortSignal): Promise<Outcome> {
  const { send, campaign } = work;
  const startedAt = send.createStartedAt ?? deps.clock.now();
  const fingerprint = (JSON.parse(send.createFingerprint ?? 'null') as TestFingerprint | null) ?? testFingerprintOf(campaign.message);
  let result: SearchResult;
  try {
    result = await searchChat(deps, work, fingerprint, startedAt, signal);
  } catch (error) {
    if (errorKind(error) === 'auth') return recordCallFailure(deps, send, 'test_search', error);
    result = { outcome: 'inconclusive', reason: describeFailure(error).message };
  }
  const now = deps.clock.now();
  if (result.outcome === 'found') {
    const found = result.message;
    const done = await recordOutcome(deps, send.id, now, ({ campaign: current }) => ({
      changes: deliveredChanges(current, found, now),
      events: [syncEvent(send.id, 'adopted', { remoteId: String(found.id), list: 'chat', revision: send.revision, otherMatches: 0 })],
    }));
    return done ? 'adopted' : 'lost_lease';
  }
  if (result.outcome === 'absent') {
    const done = await recordOutcome(deps, send.id, now, ({ send: fresh }) => ({
      changes: failed(fresh, 'not_delivered', 'The test message was not delivered: a search of the chat found no copy. Send another test if you want one.', { ...clearedCreate, nextAttemptAt: null }),
      events: [syncEvent(send.id, 'create_absent', { startedAt: new Date(startedAt).toISOString() })],
    }));
    return done ? 'absent' : 'lost_lease';
  }
  const reason = result.reason;
  const done = await recordOutcome(deps, send.id, now, ({ send: fresh }) => {
    // attempts counts the create that went unknown, then one per search.
    if (fresh.attempts >= TEST_SEARCH_ATTEMPTS) {
      // Stop searching: the intent is dropped so the send is never due again, and never re-sent.
      return {
        changes: { ...clearedCreate, attempts: fresh.attempts + 1, nextAttemptAt: null, syncState: 'error', lastError: `Outcome unknown: ${TEST_SEARCH_ATTEMPTS} searches of the chat could not tell whether the test was delivered (${reason}). It is not sent again.` },
        events: [syncEvent(send.id, 'sync_error', { operation: 'test_search', kind: 'inconclusive', message: reason })],
      };
    }
    return {
      changes: { ...backoffChanges(fresh, new Error(`search inconclusive: ${reason}`), deps, now), syncState: 'creating' },
      events: [syncEvent(send.id, 'sync_error', { operation: 'test_search', kind: 'inconclusive', message: reason })],
    };
  });
  return done ? 'retry' : 'lost_lease';
}
