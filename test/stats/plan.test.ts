import { describe, expect, it } from 'vitest';
import type { StatsItem } from '../../src/ofauth/schemas.ts';
import { sendDefaults, type Send } from '../../src/sends/model.ts';
import { observe } from '../../src/stats/observe.ts';
import { REFRESH_AFTER_MS, isMissing, listsFor, mustFind, statusForItem, stopAfterPage, type TrackedFacts } from '../../src/stats/plan.ts';
import { CLOCK_SKEW_MS } from '../../src/sync/find-remote.ts';

const NOW = Date.UTC(2030, 0, 1, 12);

const item = (over: Partial<StatsItem> = {}): StatsItem => ({
  id: 1_000_001,
  queueId: 1_000_001,
  text: '<p>hi</p>',
  date: new Date(NOW - 60_000).toISOString(),
  createdAt: new Date(NOW - 60_000).toISOString(),
  sentCount: 10,
  viewedCount: 0,
  purchasedCount: 0,
  price: 9.99,
  mediaCount: 1,
  isCanceled: false,
  hasError: false,
  canUnsend: false,
  isFree: false,
  ...over,
});

const row = (over: Partial<Send> = {}): Send => ({
  ...sendDefaults({
    id: 'snd_01JH8Z6Q4W5X2V9T3B7N0M1K8D',
    campaignId: 'cmp_01JH8Z6Q4W5X2V9T3B7N0M1K8D',
    connectionId: 'conn_sandbox',
    kind: 'scheduled',
    occurrenceAt: null,
    dueAt: null,
    revision: 1,
    status: 'queued',
    createdAt: NOW - 3_600_000,
    updatedAt: NOW - 3_600_000,
  }),
  syncedRevision: 1,
  syncState: 'synced',
  remoteId: '1000001',
  lastSyncedAt: NOW - 3_600_000,
  ...over,
});

const facts = (over: Partial<TrackedFacts> = {}): TrackedFacts => ({
  status: 'queued',
  remoteList: null,
  remoteSeenAt: null,
  remoteMissingAt: null,
  createdAt: NOW - 3_600_000,
  ...over,
});

describe('statusForItem: each list and flag', () => {
  it.each([
    ['scheduled', {}, 'queued'],
    ['scheduled', { isCanceled: true }, 'canceled'],
    ['scheduled', { hasError: true }, 'failed'],
    ['unsent', {}, 'sending'],
    ['unsent', { isCanceled: true }, 'canceled'],
    ['unsent', { hasError: true }, 'failed'],
    ['unsent', { isCanceled: true, hasError: true }, 'failed'],
    ['sent', {}, 'sent'],
    ['sent', { isCanceled: true }, 'sent'],
    ['sent', { hasError: true }, 'sent'],
  ] as const)('%s %j → %s', (type, flags, expected) => {
    expect(statusForItem(type, { isCanceled: false, hasError: false, ...flags })).toBe(expected);
  });
});

describe('observe', () => {
  it('moves only along the send transitions: a stale scheduled item never moves a sending send back', () => {
    const result = observe(row({ status: 'sending', remoteList: 'unsent', remoteSeenAt: NOW - 60_000 }), 'scheduled', item(), NOW);
    expect(result.changes.status).toBeUndefined();
    expect(result.events.map((e) => e.type)).not.toContain('status_changed');
  });

  it('turns a canceled campaign sent anyway (the cancel came too late) into sent, clearing the delete error', () => {
    const result = observe(row({ status: 'canceled', syncState: 'error', lastError: 'refused' }), 'sent', item(), NOW);
    expect(result.changes).toMatchObject({ status: 'sent', syncState: 'synced', lastError: null, sentAt: NOW - 60_000 });
    expect(result.events.find((e) => e.type === 'status_changed')?.data).toMatchObject({ from: 'canceled', to: 'sent', reason: 'cancel_too_late' });
    expect(result.events.map((e) => e.type)).toContain('sent');
  });

  it('records a remote cancel as a deleted copy, so the reconciler does not try to delete it', () => {
    const result = observe(row(), 'unsent', item({ isCanceled: true }), NOW);
    expect(result.changes).toMatchObject({ status: 'canceled', remoteDeletedAt: NOW, syncState: 'deleted' });
  });

  it('writes a snapshot only when the list or a count changed, and first_view/first_purchase once', () => {
    const first = observe(row(), 'sent', item({ viewedCount: 3, purchasedCount: 1 }), NOW);
    expect(first.snapshot).toEqual({ type: 'sent', sentCount: 10, viewedCount: 3, purchasedCount: 1 });
    expect(first.events.map((e) => e.type)).toEqual(['status_changed', 'sent', 'first_view', 'first_purchase']);

    const after = row({ status: 'sent', remoteList: 'sent', remoteSeenAt: NOW, sentAt: NOW - 60_000, sentCount: 10, viewedCount: 3, purchasedCount: 1, remotePrice: 999 });
    const same = observe(after, 'sent', item({ viewedCount: 3, purchasedCount: 1 }), NOW + 60_000);
    expect(same).toMatchObject({ snapshot: null, events: [], isChange: false });

    const grown = observe(after, 'sent', item({ viewedCount: 5, purchasedCount: 2 }), NOW + 60_000);
    expect(grown.snapshot).toMatchObject({ viewedCount: 5, purchasedCount: 2 });
    expect(grown.events).toEqual([]);
  });

  it('keeps the last known count when an item omits it', () => {
    const result = observe(row({ status: 'sent', sentCount: 10, viewedCount: 4, purchasedCount: 2 }), 'sent', item({ viewedCount: null, purchasedCount: null }), NOW);
    expect(result.changes).toMatchObject({ sentCount: 10, viewedCount: 4, purchasedCount: 2 });
  });

  it('parses the remote price into cents', () => {
    expect(observe(row(), 'scheduled', item({ price: 12.5 }), NOW).changes.remotePrice).toBe(1250);
  });
});

describe('which lists, and when to stop', () => {
  it('looks for a campaign only in the lists it can still be in', () => {
    expect(listsFor(facts())).toEqual(['scheduled', 'unsent', 'sent']);
    expect(listsFor(facts({ remoteList: 'unsent' }))).toEqual(['unsent', 'sent']);
    expect(listsFor(facts({ status: 'sending', remoteList: 'scheduled' }))).toEqual(['unsent', 'sent']);
    expect(listsFor(facts({ status: 'sent', remoteList: 'sent' }))).toEqual(['sent']);
  });

  it('must find open campaigns, and sent ones only when their counts are stale', () => {
    expect(mustFind(facts(), NOW)).toBe(true);
    expect(mustFind(facts({ status: 'sent', remoteSeenAt: NOW - 60_000 }), NOW)).toBe(false);
    expect(mustFind(facts({ status: 'sent', remoteSeenAt: NOW - REFRESH_AFTER_MS }), NOW)).toBe(true);
    expect(mustFind(facts({ remoteMissingAt: NOW - 60_000 }), NOW)).toBe(false);
  });

  it('stops at the end, when all are found, past the oldest expected, or on an unchanged page with nothing it must find', () => {
    const base = { hasMore: true, lowestKey: NOW, unseen: [facts()], pageChanged: false, now: NOW };
    expect(stopAfterPage({ ...base, hasMore: false })).toBe('exhausted');
    expect(stopAfterPage({ ...base, unseen: [] })).toBe('all_found');
    expect(stopAfterPage({ ...base, lowestKey: NOW - 3_600_000 - CLOCK_SKEW_MS - 1 })).toBe('past_window');
    expect(stopAfterPage(base)).toBeNull();
    const fresh = facts({ status: 'sent', remoteList: 'sent', remoteSeenAt: NOW - 60_000 });
    expect(stopAfterPage({ ...base, unseen: [fresh] })).toBe('unchanged');
    expect(stopAfterPage({ ...base, unseen: [fresh], pageChanged: true })).toBeNull();
  });

  it('calls a campaign missing only when every list it can be in was read from the top past it', () => {
    const c = { ...facts(), lastSyncedAt: NOW - 3_600_000 };
    const past = { fromTop: true, below: Number.NEGATIVE_INFINITY };
    expect(isMissing(c, { scheduled: past, unsent: past, sent: past }, NOW)).toBe(true);
    expect(isMissing(c, { scheduled: past, unsent: past }, NOW)).toBe(false);
    expect(isMissing(c, { scheduled: past, unsent: past, sent: { fromTop: true, below: NOW } }, NOW)).toBe(false);
    expect(isMissing(c, { scheduled: past, unsent: past, sent: { fromTop: false, below: Number.NEGATIVE_INFINITY } }, NOW)).toBe(false);
    expect(isMissing({ ...c, lastSyncedAt: NOW - 1_000 }, { scheduled: past, unsent: past, sent: past }, NOW)).toBe(false);
  });
});
