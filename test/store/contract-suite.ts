import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sendStatuses, type SendStatus } from '../../src/campaigns/model.ts';
import { ConflictError, IdempotencyMismatchError } from '../../src/errors.ts';
import { STATS_ACTOR, SYNC_ACTOR, type EventSpec, type EventType } from '../../src/events/types.ts';
import type { StatsItem } from '../../src/ofauth/schemas.ts';
import { IllegalTransitionError } from '../../src/sends/lifecycle.ts';
import { sendDefaults, type Send } from '../../src/sends/model.ts';
import type { DayTotalsRow, Observation, Run, SendWork, Store } from '../../src/store/types.ts';
import {
  DAY,
  HOUR,
  LEAD_MS,
  MINUTE,
  T0,
  campaignAt,
  changeSend,
  createDraft,
  createOneShot,
  createSeries,
  createWith,
  createdEvent,
  occurrenceSendOf,
  oneShotSendOf,
  queuedRemotely,
  respondWith,
  sentRemotely,
  statsItem,
  tokenRecord,
} from './fixtures.ts';
import { usePeerStores } from './peers.ts';

/** Events with only the fields a contract test needs: the store keeps any event verbatim. */
const ev = (e: { type: EventType; actor: string; sendId?: string; data?: Record<string, unknown> }): EventSpec => e as EventSpec;

/*
 * The store contract: every backend (SQLite now, PostgreSQL next) must pass this suite
 * unchanged. It speaks only the interfaces of src/store/types.ts and asserts what their JSDoc
 * promises, never how a backend lays out its rows, so a second implementation is held to the
 * same behaviour rather than the same SQL.
 */

export interface StoreBackend {
  name: string;
  /** A fresh, migrated, empty store; the suite closes it after each test. */
  open(): Promise<Store>;
  /**
   * Two stores on one database, as two processes hold it (for what only another process can
   * observe). `dispose` closes both and removes what the pair made.
   */
  openPeers?(): Promise<{ stores: [Store, Store]; dispose(): Promise<void> }>;
  /** Keys of itHolds(…) tests this backend is known to fail (each a reported bug, not a waiver). */
  knownViolations?: readonly string[];
}

const zeroCounts = (): Record<SendStatus, number> => Object.fromEntries(sendStatuses.map((s) => [s, 0])) as Record<SendStatus, number>;
const ids = (rows: Array<{ campaign: { id: string } }>) => rows.map((r) => r.campaign.id);
const byConnection = <T extends { connectionId: string }>(rows: T[]) => [...rows].sort((a, b) => a.connectionId.localeCompare(b.connectionId));

export function defineStoreContract(backend: StoreBackend): void {
  /** A contract test this backend is known to break: run, and expected to fail until fixed. */
  const itHolds = (key: string) => (backend.knownViolations?.includes(key) ? it.fails : it);
  let store: Store;
  let isClosed: boolean;

  beforeEach(async () => {
    store = await backend.open();
    isClosed = false;
  });
  afterEach(async () => {
    if (!isClosed) await store.close();
  });

  describe('campaigns.create', () => {
    it('stores the campaign, its send and events, and answers with the stored record', async () => {
      const campaign = campaignAt(T0);
      const newSend = oneShotSendOf(campaign, T0);
      const respond = vi.fn(respondWith);
      const response = await store.campaigns.create({ now: T0, idempotency: null, build: () => ({ campaign, sends: [newSend], events: [createdEvent(campaign)] }), respond });

      expect(response).toEqual({ statusCode: 201, body: { id: campaign.id, status: 'scheduled', sendId: newSend.id } });
      const stored = { ...sendDefaults(newSend), syncState: 'pending', syncDueAt: T0 } satisfies Send;
      expect(respond).toHaveBeenCalledExactlyOnceWith({ campaign, send: stored, series: null });
      expect(await store.campaigns.find(campaign.id)).toEqual({ campaign, send: stored, series: null });
      expect(await store.campaigns.events(campaign.id, 0, 10)).toEqual([
        { id: expect.any(Number), campaignId: campaign.id, sendId: null, type: 'created', actor: 'alice', at: T0, data: { status: 'scheduled', revision: 1 } },
      ]);
    });

    it('answers a repeat of the same key and body with the first response, writing nothing more', async () => {
      const idempotency = { tokenId: 'tok_1', key: 'key-1', requestHash: 'hash-a' };
      const first = await createWith(store, T0, campaignAt(T0), [], idempotency);
      const build = vi.fn(() => ({ campaign: campaignAt(T0 + 1), sends: [], events: [] }));
      const respond = vi.fn(respondWith);

      const repeat = await store.campaigns.create({ now: T0 + MINUTE, idempotency, build, respond });

      expect(repeat).toEqual(respondWith(first.record));
      expect(build).not.toHaveBeenCalled();
      expect(respond).not.toHaveBeenCalled();
      expect(ids(await store.campaigns.list({ connectionIds: null, limit: 10 }))).toEqual([first.campaign.id]);
      expect(await store.campaigns.events(first.campaign.id, 0, 10)).toHaveLength(1);
    });

    it('refuses the same key with another body, writing nothing', async () => {
      const first = await createWith(store, T0, campaignAt(T0), [], { tokenId: 'tok_1', key: 'key-1', requestHash: 'hash-a' });
      const build = vi.fn(() => ({ campaign: campaignAt(T0 + 1), sends: [], events: [] }));

      await expect(store.campaigns.create({ now: T0 + MINUTE, idempotency: { tokenId: 'tok_1', key: 'key-1', requestHash: 'hash-b' }, build, respond: respondWith })).rejects.toThrow(
        IdempotencyMismatchError,
      );
      expect(build).not.toHaveBeenCalled();
      expect(ids(await store.campaigns.list({ connectionIds: null, limit: 10 }))).toEqual([first.campaign.id]);
    });

    it('scopes keys per token and creates anew for a fresh key', async () => {
      await createWith(store, T0, campaignAt(T0), [], { tokenId: 'tok_1', key: 'key-1', requestHash: 'hash-a' });
      await createWith(store, T0 + 1, campaignAt(T0 + 1), [], { tokenId: 'tok_2', key: 'key-1', requestHash: 'hash-a' });
      await createWith(store, T0 + 2, campaignAt(T0 + 2), [], { tokenId: 'tok_1', key: 'key-2', requestHash: 'hash-a' });
      expect(await store.campaigns.list({ connectionIds: null, limit: 10 })).toHaveLength(3);
    });

    it('writes nothing when build throws, and does not burn the idempotency key', async () => {
      const idempotency = { tokenId: 'tok_1', key: 'key-1', requestHash: 'hash-a' };
      const refused = new ConflictError('nope', 'refused by build');
      await expect(
        store.campaigns.create({
          now: T0,
          idempotency,
          build: () => {
            throw refused;
          },
          respond: respondWith,
        }),
      ).rejects.toBe(refused);
      expect(await store.campaigns.list({ connectionIds: null, limit: 10 })).toEqual([]);

      const retried = await createWith(store, T0 + 1, campaignAt(T0 + 1), [], idempotency);
      expect(await store.campaigns.find(retried.campaign.id)).not.toBeNull();
    });

    it('writes nothing when respond throws after the inserts', async () => {
      const campaign = campaignAt(T0);
      const failure = new Error('respond failed');
      await expect(
        store.campaigns.create({
          now: T0,
          idempotency: { tokenId: 'tok_1', key: 'key-1', requestHash: 'hash-a' },
          build: () => ({ campaign, sends: [oneShotSendOf(campaign, T0)], events: [createdEvent(campaign)] }),
          respond: () => {
            throw failure;
          },
        }),
      ).rejects.toBe(failure);
      expect(await store.campaigns.find(campaign.id)).toBeNull();
      expect(await store.campaigns.events(campaign.id, 0, 10)).toEqual([]);
    });
  });

  describe('campaigns.find', () => {
    it('gives a one-shot campaign with its send, and null for an unknown id', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      const record = await store.campaigns.find(campaign.id);
      expect(record).toEqual({ campaign, send, series: null });
      expect(record!.send!.kind).toBe('scheduled');
      expect(await store.campaigns.find('cmp_unknown')).toBeNull();
    });

    it('gives a draft without a send', async () => {
      const draft = await createDraft(store, T0);
      expect(draft).toEqual({ campaign: campaignAt(T0, { status: 'draft', id: draft.campaign.id }), send: null, series: null });
      expect(await store.campaigns.find(draft.campaign.id)).toEqual(draft);
    });

    it('gives a series its summary: send counts by status, and totals once a send is observed', async () => {
      const { campaign, sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 3 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY] });
      const before = await store.campaigns.find(campaign.id);
      expect(before).toMatchObject({ send: null, series: { sendCounts: { ...zeroCounts(), pending: 3 }, totals: null } });

      await changeSend(store, sends[0]!, T0 + DAY, sentRemotely('7001', T0 + DAY, { sentCount: 100, viewedCount: 40, purchasedCount: 3 }));
      await changeSend(store, sends[1]!, T0 + 2 * DAY, sentRemotely('7002', T0 + 2 * DAY, { sentCount: 50, viewedCount: 10, purchasedCount: 1 }));
      await changeSend(store, sends[2]!, T0 + 2 * DAY, { status: 'canceled', reason: 'paused' });

      expect((await store.campaigns.find(campaign.id))!.series).toEqual({
        sendCounts: { ...zeroCounts(), sent: 2, canceled: 1 },
        totals: { sentCount: 150, viewedCount: 50, purchasedCount: 4, observedAt: T0 + 2 * DAY },
      });
    });
  });

  describe('campaigns.list', () => {
    it('lists newest first and pages by keyset with beforeId and limit', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await createOneShot(store, T0 + i * MINUTE)).campaign.id);
      const newestFirst = [...made].reverse();

      const page1 = await store.campaigns.list({ connectionIds: null, limit: 2 });
      expect(ids(page1)).toEqual(newestFirst.slice(0, 2));
      // A campaign created between pages never shifts the next page.
      await createOneShot(store, T0 + HOUR);
      const page2 = await store.campaigns.list({ connectionIds: null, limit: 2, beforeId: page1.at(-1)!.campaign.id });
      expect(ids(page2)).toEqual(newestFirst.slice(2, 4));
      const page3 = await store.campaigns.list({ connectionIds: null, limit: 2, beforeId: page2.at(-1)!.campaign.id });
      expect(ids(page3)).toEqual(newestFirst.slice(4));
    });

    it('filters by status', async () => {
      const draft = await createDraft(store, T0);
      const scheduled = await createOneShot(store, T0 + 1);
      const canceled = await createOneShot(store, T0 + 2);
      await changeSend(store, canceled.send, T0 + 3, { status: 'canceled', reason: 'campaign_canceled' });

      expect(ids(await store.campaigns.list({ statuses: ['draft'], connectionIds: null, limit: 10 }))).toEqual([draft.campaign.id]);
      expect(ids(await store.campaigns.list({ statuses: ['scheduled', 'canceled'], connectionIds: null, limit: 10 }))).toEqual([canceled.campaign.id, scheduled.campaign.id]);
      expect(await store.campaigns.list({ statuses: ['sent'], connectionIds: null, limit: 10 })).toEqual([]);
    });

    it('filters by connection: null is any, an empty list is none', async () => {
      const a = await createOneShot(store, T0, { connectionId: 'conn_a' });
      const b = await createOneShot(store, T0 + 1, { connectionId: 'conn_b' });
      const c = await createOneShot(store, T0 + 2, { connectionId: 'conn_c' });

      expect(ids(await store.campaigns.list({ connectionIds: null, limit: 10 }))).toEqual([c.campaign.id, b.campaign.id, a.campaign.id]);
      expect(await store.campaigns.list({ connectionIds: [], limit: 10 })).toEqual([]);
      expect(ids(await store.campaigns.list({ connectionIds: ['conn_a', 'conn_c'], limit: 10 }))).toEqual([c.campaign.id, a.campaign.id]);
      expect(await store.campaigns.list({ connectionIds: ['conn_z'], limit: 10 })).toEqual([]);
    });

    it('filters by scheduled time, bounds included, leaving out campaigns with none', async () => {
      const at1 = await createOneShot(store, T0, { scheduledAt: T0 + HOUR });
      const at2 = await createOneShot(store, T0 + 1, { scheduledAt: T0 + 2 * HOUR });
      const at3 = await createOneShot(store, T0 + 2, { scheduledAt: T0 + 3 * HOUR });
      await createOneShot(store, T0 + 3, { scheduledAt: null });

      expect(ids(await store.campaigns.list({ connectionIds: null, scheduledFrom: T0 + 2 * HOUR, limit: 10 }))).toEqual([at3.campaign.id, at2.campaign.id]);
      expect(ids(await store.campaigns.list({ connectionIds: null, scheduledTo: T0 + 2 * HOUR, limit: 10 }))).toEqual([at2.campaign.id, at1.campaign.id]);
      expect(ids(await store.campaigns.list({ connectionIds: null, scheduledFrom: T0 + 2 * HOUR, scheduledTo: T0 + 2 * HOUR, limit: 10 }))).toEqual([at2.campaign.id]);
    });

    it('gives each row as find does: a one-shot with its send, a series with its summary, a draft bare', async () => {
      const oneShot = await createOneShot(store, T0);
      const series = await createSeries(store, T0 + 1, { nextOccurrenceAt: T0 + DAY, occurrences: [T0 + DAY] });
      const draft = await createDraft(store, T0 + 2);

      const listed = await store.campaigns.list({ connectionIds: null, limit: 10 });
      expect(listed).toEqual([
        await store.campaigns.find(draft.campaign.id),
        await store.campaigns.find(series.campaign.id),
        await store.campaigns.find(oneShot.campaign.id),
      ]);
      expect(listed[1]!.series!.sendCounts.pending).toBe(1);
    });

    it('searches names for a text, ignoring ASCII case, with % and _ taken literally', async () => {
      const friday = await createOneShot(store, T0, { name: 'Friday PPV drop' });
      const sale = await createOneShot(store, T0 + 1, { name: '50% off: friday_only' });
      await createOneShot(store, T0 + 2, { name: 'Monday hello' });

      expect(ids(await store.campaigns.list({ connectionIds: null, nameContains: 'FRIDAY', limit: 10 }))).toEqual([sale.campaign.id, friday.campaign.id]);
      expect(ids(await store.campaigns.list({ connectionIds: null, nameContains: '50%', limit: 10 }))).toEqual([sale.campaign.id]);
      expect(ids(await store.campaigns.list({ connectionIds: null, nameContains: 'y_o', limit: 10 }))).toEqual([sale.campaign.id]);
      expect(await store.campaigns.list({ connectionIds: null, nameContains: '5_%', limit: 10 })).toEqual([]);
      expect(ids(await store.campaigns.list({ connectionIds: null, nameContains: 'friday', beforeId: sale.campaign.id, limit: 10 }))).toEqual([friday.campaign.id]);
    });
  });

  describe('campaigns.plannedSends', () => {
    it('lists the window\'s sends by planned time (a send-now one at its creation) and counts them all', async () => {
      const later = await createOneShot(store, T0, { name: 'Later', scheduledAt: T0 + 3 * HOUR, connectionId: 'conn_a' });
      const sooner = await createOneShot(store, T0 + 1, { name: 'Sooner', scheduledAt: T0 + HOUR, connectionId: 'conn_b' });
      const now = await createOneShot(store, T0 + 2 * HOUR, { name: 'Now', scheduledAt: null, connectionId: 'conn_a' });
      await createOneShot(store, T0 + 3, { scheduledAt: T0 + DAY, connectionId: 'conn_a' });
      const series = await createSeries(store, T0 + 4, { nextOccurrenceAt: T0 + 2 * DAY, occurrences: [T0 + 4 * HOUR] }, { name: 'Daily', connectionId: 'conn_b' });
      await changeSend(store, sooner.send, T0 + HOUR, { status: 'canceled', reason: 'campaign_canceled' });
      await createDraft(store, T0 + 5, { scheduledAt: T0 + 2 * HOUR });

      const window = { from: T0 + HOUR, to: T0 + DAY, connectionIds: null, limit: 10 };
      const planned = await store.campaigns.plannedSends(window);
      expect(planned.sends).toEqual([
        { sendId: sooner.send.id, campaignId: sooner.campaign.id, campaignName: 'Sooner', connectionId: 'conn_b', kind: 'scheduled', status: 'canceled', plannedAt: T0 + HOUR, sentAt: null },
        { sendId: now.send.id, campaignId: now.campaign.id, campaignName: 'Now', connectionId: 'conn_a', kind: 'scheduled', status: 'pending', plannedAt: T0 + 2 * HOUR, sentAt: null },
        { sendId: later.send.id, campaignId: later.campaign.id, campaignName: 'Later', connectionId: 'conn_a', kind: 'scheduled', status: 'pending', plannedAt: T0 + 3 * HOUR, sentAt: null },
        { sendId: series.send.id, campaignId: series.campaign.id, campaignName: 'Daily', connectionId: 'conn_b', kind: 'occurrence', status: 'pending', plannedAt: T0 + 4 * HOUR, sentAt: null },
      ]);
      expect(byConnection(planned.counts).map((c) => `${c.connectionId} ${c.status} ${c.count}`).sort()).toEqual(['conn_a pending 2', 'conn_b canceled 1', 'conn_b pending 1']);

      // The limit cuts the list, never the counts; the window's end is excluded.
      const first = await store.campaigns.plannedSends({ ...window, limit: 1 });
      expect(first.sends.map((s) => s.sendId)).toEqual([sooner.send.id]);
      expect(first.counts.reduce((n, c) => n + c.count, 0)).toBe(4);
      expect((await store.campaigns.plannedSends({ ...window, to: T0 + 3 * HOUR })).sends.map((s) => s.sendId)).toEqual([sooner.send.id, now.send.id]);
    });

    it('keeps to the connections asked for: null is any, an empty list is none', async () => {
      const a = await createOneShot(store, T0, { scheduledAt: T0 + HOUR, connectionId: 'conn_a' });
      await createOneShot(store, T0 + 1, { scheduledAt: T0 + HOUR, connectionId: 'conn_b' });
      const window = { from: T0, to: T0 + DAY, limit: 10 };

      expect((await store.campaigns.plannedSends({ ...window, connectionIds: null })).sends).toHaveLength(2);
      expect(await store.campaigns.plannedSends({ ...window, connectionIds: [] })).toEqual({ sends: [], counts: [] });
      const onlyA = await store.campaigns.plannedSends({ ...window, connectionIds: ['conn_a', 'conn_z'] });
      expect(onlyA.sends.map((s) => s.sendId)).toEqual([a.send.id]);
      expect(onlyA.counts).toEqual([{ connectionId: 'conn_a', status: 'pending', count: 1 }]);
    });
  });

  describe('campaigns.runningSeries', () => {
    it('gives running series whose next occurrence comes before the bound, soonest first, on the connections asked for', async () => {
      const later = await createSeries(store, T0, { nextOccurrenceAt: T0 + 3 * DAY }, { connectionId: 'conn_a' });
      const sooner = await createSeries(store, T0 + 1, { nextOccurrenceAt: T0 + DAY }, { connectionId: 'conn_b' });
      await createSeries(store, T0 + 2, { nextOccurrenceAt: T0 + 9 * DAY }, { connectionId: 'conn_a' });
      const paused = await createSeries(store, T0 + 3, { nextOccurrenceAt: T0 + DAY }, { connectionId: 'conn_a' });
      await store.campaigns.mutate(paused.campaign.id, T0 + 4, () => ({ campaign: { status: 'paused' } }));
      await createOneShot(store, T0 + 5, { scheduledAt: T0 + DAY, connectionId: 'conn_a' });

      const bound = { before: T0 + 4 * DAY, limit: 10 };
      expect((await store.campaigns.runningSeries({ ...bound, connectionIds: null })).map((c) => c.id)).toEqual([sooner.campaign.id, later.campaign.id]);
      expect((await store.campaigns.runningSeries({ ...bound, connectionIds: null, limit: 1 })).map((c) => c.id)).toEqual([sooner.campaign.id]);
      expect((await store.campaigns.runningSeries({ ...bound, connectionIds: ['conn_a'] })).map((c) => c.id)).toEqual([later.campaign.id]);
      expect(await store.campaigns.runningSeries({ ...bound, connectionIds: [] })).toEqual([]);
      // The bound is exclusive, and the campaign comes whole (its recurrence and count).
      const [first] = await store.campaigns.runningSeries({ before: T0 + DAY + 1, connectionIds: null, limit: 10 });
      expect(first).toMatchObject({ id: sooner.campaign.id, recurrence: sooner.campaign.recurrence, nextOccurrenceAt: T0 + DAY, occurrenceCount: 0 });
      expect(await store.campaigns.runningSeries({ before: T0 + DAY, connectionIds: null, limit: 10 })).toEqual([]);
    });
  });

  describe('campaigns.mutate', () => {
    it('decides on the campaign and every send that can still change', async () => {
      const { campaign, sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 3 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY] });
      await changeSend(store, sends[0]!, T0 + DAY, sentRemotely('7001', T0 + DAY, { sentCount: 1, viewedCount: 0, purchasedCount: 0 }));
      await changeSend(store, sends[1]!, T0 + DAY, { status: 'canceled' });
      const decide = vi.fn(() => ({}));
      await store.campaigns.mutate(campaign.id, T0 + DAY, decide);
      expect(decide).toHaveBeenCalledOnce();
      const [state] = decide.mock.calls[0] as unknown as [{ campaign: { id: string }; sends: Send[] }];
      expect(state.campaign).toEqual((await store.campaigns.find(campaign.id))!.campaign);
      expect(state.sends).toEqual([await store.campaigns.findSend(sends[2]!.id)]);

      // A one-shot's send is decided on whatever its status.
      const oneShot = await createOneShot(store, T0 + 1);
      const canceled = await changeSend(store, oneShot.send, T0 + 2, { status: 'canceled' });
      await store.campaigns.mutate(oneShot.campaign.id, T0 + 3, (s) => {
        expect(s.sends).toEqual([canceled]);
        return {};
      });
    });

    it('decides also on a withdrawn send whose remote copy is not surely gone, until its delete is confirmed', async () => {
      const { campaign, sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 4 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY] });
      const at = T0 + MINUTE;
      // Queued in OFAuth, then withdrawn: its DELETE has not been confirmed.
      await changeSend(store, sends[0]!, at, queuedRemotely('7001', at));
      const undeleted = await changeSend(store, sends[0]!, at, { status: 'canceled', reason: 'paused' });
      // Withdrawn while its create's outcome was unknown: a copy may exist.
      await changeSend(store, sends[1]!, at, { createStartedAt: at, createRevision: 1, createFingerprint: '{}', syncState: 'creating' });
      const maybeCreated = await changeSend(store, sends[1]!, at, { status: 'canceled', reason: 'paused' });
      // Withdrawn and deleted in OFAuth: settled.
      await changeSend(store, sends[2]!, at, queuedRemotely('7003', at));
      await changeSend(store, sends[2]!, at, { status: 'canceled', reason: 'paused' });
      await changeSend(store, sends[2]!, at, { remoteDeletedAt: at, syncState: 'deleted' });

      let decidedOn: Send[] = [];
      await store.campaigns.mutate(campaign.id, at, (state) => {
        decidedOn = state.sends;
        return {};
      });
      expect(decidedOn.map((s) => s.id).sort()).toEqual([undeleted.id, maybeCreated.id].sort());
      expect(decidedOn.find((s) => s.id === undeleted.id)).toEqual(undeleted);
    });

    it('writes campaign changes and events, and returns the new record', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      const record = await store.campaigns.mutate(campaign.id, T0 + MINUTE, () => ({
        campaign: { name: 'Saturday drop', revision: 2, updatedAt: T0 + MINUTE },
        events: [ev({ type: 'updated', actor: 'bob', data: { changed: ['name'] } })],
      }));
      const expected = { ...campaign, name: 'Saturday drop', revision: 2, updatedAt: T0 + MINUTE };
      expect(record).toEqual({ campaign: expected, send, series: null });
      expect(await store.campaigns.find(campaign.id)).toEqual(record);
      expect((await store.campaigns.events(campaign.id, 0, 10)).at(-1)).toMatchObject({ campaignId: campaign.id, sendId: null, type: 'updated', actor: 'bob', at: T0 + MINUTE, data: { changed: ['name'] } });
    });

    it('recomputes what follows from a send change: a canceled send with a live remote is due for its delete', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      const queued = await changeSend(store, send, T0 + MINUTE, queuedRemotely('7001', T0 + MINUTE));
      expect(queued).toMatchObject({ status: 'queued', syncState: 'synced', syncDueAt: null, updatedAt: T0 + MINUTE });
      expect((await store.campaigns.find(campaign.id))!.campaign.status).toBe('queued');

      const record = await store.campaigns.mutate(campaign.id, T0 + 2 * MINUTE, () => ({
        campaign: { status: 'canceled', updatedAt: T0 + 2 * MINUTE },
        sends: [{ id: send.id, changes: { status: 'canceled', reason: 'campaign_canceled' } }],
      }));
      expect(record!.send).toMatchObject({ status: 'canceled', reason: 'campaign_canceled', syncState: 'pending', syncDueAt: T0 + 2 * MINUTE, updatedAt: T0 + 2 * MINUTE });
      expect(record!.campaign.status).toBe('canceled');
      expect(await store.campaigns.findSend(send.id)).toEqual(record!.send);
    });

    it('mirrors a one-shot send’s status onto its campaign', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      await changeSend(store, send, T0 + 1, { status: 'failed', reason: 'ofauth_rejected' });
      expect((await store.campaigns.find(campaign.id))!.campaign).toMatchObject({ status: 'failed', failureReason: 'ofauth_rejected' });
    });

    it('throws on an illegal transition and writes nothing of the mutation', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      const canceled = await changeSend(store, send, T0 + 1, { status: 'canceled' });
      const before = await store.campaigns.find(campaign.id);
      const eventsBefore = await store.campaigns.events(campaign.id, 0, 100);

      await expect(
        store.campaigns.mutate(campaign.id, T0 + 2, () => ({
          campaign: { name: 'renamed', updatedAt: T0 + 2 },
          sends: [{ id: send.id, changes: { status: 'queued' } }],
          events: [ev({ type: 'updated', actor: 'bob' })],
        })),
      ).rejects.toThrow(IllegalTransitionError);

      expect(await store.campaigns.find(campaign.id)).toEqual(before);
      expect(await store.campaigns.findSend(send.id)).toEqual(canceled);
      expect(await store.campaigns.events(campaign.id, 0, 100)).toEqual(eventsBefore);
    });

    it('writes nothing when decide throws', async () => {
      const { campaign } = await createOneShot(store, T0);
      const before = await store.campaigns.find(campaign.id);
      const refused = new ConflictError('send_time_passed', 'refused');
      await expect(
        store.campaigns.mutate(campaign.id, T0 + 1, () => {
          throw refused;
        }),
      ).rejects.toBe(refused);
      expect(await store.campaigns.find(campaign.id)).toEqual(before);
      expect(await store.campaigns.events(campaign.id, 0, 100)).toHaveLength(1);
    });

    it('skips a new send whose occurrence already has a live send, but not one whose send was canceled', async () => {
      const { campaign, sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 2 * DAY, occurrences: [T0 + DAY] });
      const duplicate = occurrenceSendOf(campaign, T0 + DAY, T0 + 1);
      const next = occurrenceSendOf(campaign, T0 + 2 * DAY, T0 + 1);
      await store.campaigns.mutate(campaign.id, T0 + 1, () => ({ insertSends: [duplicate, next] }));
      expect(await store.campaigns.findSend(duplicate.id)).toBeNull();
      expect(await store.campaigns.findSend(next.id)).toMatchObject({ occurrenceAt: T0 + 2 * DAY, status: 'pending' });

      await changeSend(store, sends[0]!, T0 + 2, { status: 'canceled', reason: 'paused' });
      const again = occurrenceSendOf(campaign, T0 + DAY, T0 + 3);
      const record = await store.campaigns.mutate(campaign.id, T0 + 3, () => ({ insertSends: [again] }));
      expect(await store.campaigns.findSend(again.id)).toEqual({ ...sendDefaults(again), syncState: 'pending', syncDueAt: T0 + 3 });
      expect(record!.series!.sendCounts).toEqual({ ...zeroCounts(), pending: 2, canceled: 1 });
    });

    it('removes the campaign and its sends, keeping its events', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      const removed = await store.campaigns.mutate(campaign.id, T0 + 1, () => ({ remove: true, events: [ev({ type: 'deleted', actor: 'bob' })] }));
      expect(removed!.campaign.id).toBe(campaign.id);
      expect(await store.campaigns.find(campaign.id)).toBeNull();
      expect(await store.campaigns.findSend(send.id)).toBeNull();
      expect(await store.campaigns.listSends(campaign.id, { limit: 10 })).toEqual([]);
      expect((await store.campaigns.events(campaign.id, 0, 10)).map((e) => e.type)).toEqual(['created', 'deleted']);
    });

    it('appends events about a send with its sendId', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      await store.campaigns.mutate(campaign.id, T0 + 1, () => ({ events: [ev({ type: 'sync_requested', actor: 'bob', sendId: send.id, data: { reason: 'manual' } })] }));
      const expected = { id: expect.any(Number), campaignId: campaign.id, sendId: send.id, type: 'sync_requested', actor: 'bob', at: T0 + 1, data: { reason: 'manual' } };
      expect((await store.campaigns.events(campaign.id, 0, 10)).at(-1)).toEqual(expected);
      expect(await store.campaigns.sendEvents(send.id, 0, 10)).toEqual([expected]);
    });

    it('returns null for an unknown campaign without calling decide', async () => {
      const decide = vi.fn(() => ({}));
      expect(await store.campaigns.mutate('cmp_unknown', T0, decide)).toBeNull();
      expect(decide).not.toHaveBeenCalled();
    });
  });

  describe('campaigns.seriesDue', () => {
    it('gives running series due by now, oldest due first, up to the limit', async () => {
      // Due a lead (LEAD_MS) before the next occurrence.
      const late = await createSeries(store, T0, { nextOccurrenceAt: T0 + 5 * HOUR });
      const early = await createSeries(store, T0 + 1, { nextOccurrenceAt: T0 + 2 * HOUR });
      const middle = await createSeries(store, T0 + 2, { nextOccurrenceAt: T0 + 3 * HOUR });
      await createSeries(store, T0 + 3, { nextOccurrenceAt: T0 + 2 * HOUR }, { status: 'paused' });
      await createOneShot(store, T0 + 4, { scheduledAt: T0 + HOUR });

      expect(await store.campaigns.seriesDue(T0, 10)).toEqual([]);
      expect(await store.campaigns.seriesDue(T0 + 2 * HOUR - LEAD_MS, 10)).toEqual([early.campaign.id]);
      expect(await store.campaigns.seriesDue(T0 + 3 * HOUR - LEAD_MS, 10)).toEqual([early.campaign.id, middle.campaign.id]);
      expect(await store.campaigns.seriesDue(T0 + 10 * HOUR, 10)).toEqual([early.campaign.id, middle.campaign.id, late.campaign.id]);
      expect(await store.campaigns.seriesDue(T0 + 10 * HOUR, 1)).toEqual([early.campaign.id]);

      // The due time follows the next occurrence whoever moves it.
      const moved = await store.campaigns.mutate(early.campaign.id, T0 + 5, () => ({ campaign: { nextOccurrenceAt: T0 + 6 * HOUR } }));
      expect(moved!.campaign.seriesDueAt).toBe(T0 + 6 * HOUR - LEAD_MS);
      expect(await store.campaigns.seriesDue(T0 + 3 * HOUR - LEAD_MS, 10)).toEqual([middle.campaign.id]);
    });
  });

  describe('campaigns.events and sendEvents', () => {
    it('pages a campaign’s events after an id, in order', async () => {
      const { campaign } = await createOneShot(store, T0);
      const other = await createOneShot(store, T0 + 1);
      for (const [i, type] of (['updated', 'sync_requested', 'canceled'] as const).entries()) {
        await store.campaigns.mutate(campaign.id, T0 + 10 + i, () => ({ events: [ev({ type, actor: 'bob' })] }));
        await store.campaigns.mutate(other.campaign.id, T0 + 10 + i, () => ({ events: [ev({ type, actor: 'carol' })] }));
      }
      const first = await store.campaigns.events(campaign.id, 0, 2);
      expect(first.map((e) => [e.type, e.at])).toEqual([
        ['created', T0],
        ['updated', T0 + 10],
      ]);
      const rest = await store.campaigns.events(campaign.id, first.at(-1)!.id, 10);
      expect(rest.map((e) => e.type)).toEqual(['sync_requested', 'canceled']);
      expect(rest.every((e) => e.campaignId === campaign.id && e.actor === 'bob' && e.data === null && e.id > first[1]!.id)).toBe(true);
      expect(await store.campaigns.events(campaign.id, rest.at(-1)!.id, 10)).toEqual([]);
    });

    it('pages one send’s events after an id, in order', async () => {
      const { campaign, sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 2 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY] });
      const [a, b] = sends as [Send, Send];
      await store.campaigns.mutate(campaign.id, T0 + 1, () => ({
        events: [
          ev({ type: 'occurrence_created', actor: 'system:series', sendId: a.id }),
          ev({ type: 'occurrence_created', actor: 'system:series', sendId: b.id }),
          ev({ type: 'updated', actor: 'bob' }),
          ev({ type: 'sync_requested', actor: 'bob', sendId: a.id }),
          ev({ type: 'canceled', actor: 'bob', sendId: a.id }),
        ],
      }));
      const first = await store.campaigns.sendEvents(a.id, 0, 2);
      expect(first.map((e) => [e.type, e.sendId])).toEqual([
        ['occurrence_created', a.id],
        ['sync_requested', a.id],
      ]);
      expect((await store.campaigns.sendEvents(a.id, first.at(-1)!.id, 10)).map((e) => e.type)).toEqual(['canceled']);
      expect((await store.campaigns.sendEvents(b.id, 0, 10)).map((e) => e.type)).toEqual(['occurrence_created']);
      expect(await store.campaigns.sendEvents('snd_unknown', 0, 10)).toEqual([]);
    });
  });

  describe('campaigns.findSend and listSends', () => {
    it('finds a send by id with every field, and null for an unknown id', async () => {
      const campaign = campaignAt(T0, { scheduledAt: null });
      const newSend = { ...oneShotSendOf(campaign, T0), lastError: 'carried over', reason: null };
      await createWith(store, T0, campaign, [newSend]);
      expect(await store.campaigns.findSend(newSend.id)).toEqual({ ...sendDefaults(newSend), syncState: 'pending', syncDueAt: T0 });
      expect(await store.campaigns.findSend('snd_unknown')).toBeNull();
    });

    it('lists a campaign’s sends newest first, by status, paged by beforeId', async () => {
      const { campaign, sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 4 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY] });
      await createSeries(store, T0 + 1, { nextOccurrenceAt: T0 + DAY, occurrences: [T0 + DAY] });
      await changeSend(store, sends[1]!, T0 + 2, { status: 'canceled' });
      const newestFirst = [...sends].reverse().map((s) => s.id);

      const all = await store.campaigns.listSends(campaign.id, { limit: 10 });
      expect(all.map((s) => s.id)).toEqual(newestFirst);
      expect(all[0]).toEqual(await store.campaigns.findSend(newestFirst[0]!));

      const page1 = await store.campaigns.listSends(campaign.id, { limit: 2 });
      expect(page1.map((s) => s.id)).toEqual(newestFirst.slice(0, 2));
      expect((await store.campaigns.listSends(campaign.id, { limit: 10, beforeId: page1[1]!.id })).map((s) => s.id)).toEqual(newestFirst.slice(2));

      expect((await store.campaigns.listSends(campaign.id, { statuses: ['canceled'], limit: 10 })).map((s) => s.id)).toEqual([sends[1]!.id]);
      expect(await store.campaigns.listSends(campaign.id, { statuses: ['pending', 'canceled'], limit: 10 })).toHaveLength(4);
      expect(await store.campaigns.listSends('cmp_unknown', { limit: 10 })).toEqual([]);
    });
  });

  describe('sends', () => {
    /** Three sends due on conn_a at T0+10, +20, +30 (created in another order) and one on conn_b. */
    async function dueSends() {
      const s30 = await createOneShot(store, T0, { connectionId: 'conn_a' });
      const s10 = await createOneShot(store, T0 + 1, { connectionId: 'conn_a' });
      const s20 = await createOneShot(store, T0 + 2, { connectionId: 'conn_a' });
      const other = await createOneShot(store, T0 + 3, { connectionId: 'conn_b' });
      await changeSend(store, s30.send, T0 + 5, { nextAttemptAt: T0 + 30 });
      await changeSend(store, s10.send, T0 + 5, { nextAttemptAt: T0 + 10 });
      await changeSend(store, s20.send, T0 + 5, { nextAttemptAt: T0 + 20 });
      return { s10, s20, s30, other };
    }
    const claimA = (owner: string, now: number, extra: { limit?: number; onlySendId?: string; onlyCampaignId?: string } = {}) =>
      store.sends.claim({ connectionId: 'conn_a', owner, now, leaseMs: MINUTE, limit: 10, ...extra });

    it('counts the sends due now per connection', async () => {
      await dueSends();
      expect(await store.sends.dueByConnection(T0 + 3)).toEqual([{ connectionId: 'conn_b', due: 1 }]);
      expect(byConnection(await store.sends.dueByConnection(T0 + 20))).toEqual([
        { connectionId: 'conn_a', due: 2 },
        { connectionId: 'conn_b', due: 1 },
      ]);
      expect(byConnection(await store.sends.dueByConnection(T0 + HOUR))).toEqual([
        { connectionId: 'conn_a', due: 3 },
        { connectionId: 'conn_b', due: 1 },
      ]);
    });

    it('claims due sends of one connection, oldest due first, up to the limit, leased to the owner', async () => {
      const { s10, s20, s30 } = await dueSends();
      const unleased = await store.campaigns.findSend(s10.send.id);
      expect(await claimA('worker-1', T0 + 9)).toEqual({ work: [], takeovers: 0 });

      const { work, takeovers } = await claimA('worker-1', T0 + 25, { limit: 1 });
      expect(takeovers).toBe(0);
      expect(work.map((w) => w.send.id)).toEqual([s10.send.id]);
      expect(work[0]!.campaign).toEqual(s10.campaign);
      expect(work[0]!.send).toEqual({ ...unleased, leaseOwner: 'worker-1', leaseExpiresAt: T0 + 25 + MINUTE });
      expect(await store.campaigns.findSend(s10.send.id)).toEqual(work[0]!.send);

      // Only what is due and free: s10 is leased, and nothing on conn_b is claimed through conn_a.
      const rest = await claimA('worker-2', T0 + 30);
      expect([rest.work.map((w) => w.send.id), rest.takeovers]).toEqual([[s20.send.id, s30.send.id], 0]);
    });

    it('never hands a live lease to another owner, and takes an expired one over', async () => {
      const { s10 } = await dueSends();
      await claimA('worker-1', T0 + 10);
      expect((await claimA('worker-2', T0 + 10 + MINUTE - 1, { onlySendId: s10.send.id })).work).toEqual([]);

      const taken = await claimA('worker-2', T0 + 11 + MINUTE, { onlySendId: s10.send.id });
      expect(taken.takeovers).toBe(1);
      expect(taken.work.map((w) => [w.send.id, w.send.leaseOwner, w.send.leaseExpiresAt])).toEqual([[s10.send.id, 'worker-2', T0 + 11 + 2 * MINUTE]]);
    });

    it('narrows a claim to one send or one campaign', async () => {
      const { s10, s20 } = await dueSends();
      expect((await claimA('worker-1', T0 + HOUR, { onlySendId: s20.send.id })).work.map((w) => w.send.id)).toEqual([s20.send.id]);
      expect((await claimA('worker-1', T0 + HOUR, { onlyCampaignId: s10.campaign.id })).work.map((w) => w.send.id)).toEqual([s10.send.id]);
      // Another connection's send is never claimed through this one.
      const other = await createOneShot(store, T0 + 6, { connectionId: 'conn_b' });
      expect((await claimA('worker-1', T0 + HOUR, { onlySendId: other.send.id })).work).toEqual([]);
    });

    it('records an outcome under the lease, releasing it, with the campaign in step', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      const decide = vi.fn(() => ({ changes: queuedRemotely('7001', T0 + 2), events: [ev({ type: 'remote_created' as const, actor: SYNC_ACTOR, sendId: send.id })] }));

      const result = await store.sends.recordOutcome(send.id, 'worker-1', T0 + 2, decide, { release: true });

      expect(decide).toHaveBeenCalledExactlyOnceWith({ send: { ...send, leaseOwner: 'worker-1', leaseExpiresAt: T0 + 1 + MINUTE }, campaign });
      expect(result!.send).toMatchObject({ status: 'queued', remoteId: '7001', syncState: 'synced', syncDueAt: null, leaseOwner: null, leaseExpiresAt: null, updatedAt: T0 + 2 });
      expect(result!.campaign).toMatchObject({ id: campaign.id, status: 'queued' });
      expect(await store.campaigns.find(campaign.id)).toEqual({ campaign: result!.campaign, send: result!.send, series: null });
      expect(await store.campaigns.sendEvents(send.id, 0, 10)).toMatchObject([{ type: 'remote_created', actor: SYNC_ACTOR, at: T0 + 2 }]);
    });

    it('decides an outcome on the send and campaign as they are, whatever changed either since the claim', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      const keepLease = { release: false, leaseMs: MINUTE };
      await store.sends.recordOutcome(send.id, 'worker-1', T0 + 2, () => ({ changes: { createStartedAt: T0 + 2, createRevision: 1 } }), keepLease);
      const seenBy = (decide: ReturnType<typeof vi.fn>) => (decide.mock.calls.at(-1) as unknown as [SendWork])[0];

      // Another writer changes the campaign alone…
      await store.campaigns.mutate(campaign.id, T0 + 3, () => ({ campaign: { name: 'Renamed meanwhile' } }));
      const afterRename = vi.fn(() => ({ changes: { lastError: null } }));
      await store.sends.recordOutcome(send.id, 'worker-1', T0 + 4, afterRename, keepLease);
      expect(seenBy(afterRename).campaign).toMatchObject({ name: 'Renamed meanwhile' });
      expect(seenBy(afterRename).send).toMatchObject({ createStartedAt: T0 + 2, leaseOwner: 'worker-1' });

      // …then the send alone.
      await changeSend(store, send, T0 + 5, { lastError: 'seen by another writer' });
      const created = vi.fn(() => ({ changes: queuedRemotely('7003', T0 + 6) }));
      const result = await store.sends.recordOutcome(send.id, 'worker-1', T0 + 6, created, { release: true });
      expect(seenBy(created).send).toMatchObject({ lastError: 'seen by another writer', createStartedAt: T0 + 2, leaseOwner: 'worker-1' });
      expect(result!.campaign).toMatchObject({ name: 'Renamed meanwhile', status: 'queued' });
      expect(await store.campaigns.find(campaign.id)).toEqual({ campaign: result!.campaign, send: result!.send, series: null });
    });

    it('answers the send and campaign it wrote exactly as a fresh read finds them, JSON columns included', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      const resolvedAudience = { key: 'chats:priority', fanIds: [11, 12], resolvedAt: T0 + 2, pages: 1 };

      const result = await store.sends.recordOutcome(send.id, 'worker-1', T0 + 2, () => ({ changes: { ...queuedRemotely('7002', T0 + 2), resolvedAudience } }));

      expect(result!.send).toMatchObject({ resolvedAudience, status: 'queued' });
      expect(result!.campaign).toMatchObject({ status: 'queued' });
      expect(await store.campaigns.find(campaign.id)).toStrictEqual({ campaign: result!.campaign, send: result!.send, series: null });
    });

    it('extends the lease by leaseMs when not releasing', async () => {
      const { send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      const result = await store.sends.recordOutcome(send.id, 'worker-1', T0 + 2, () => ({ changes: { createStartedAt: T0 + 2, createRevision: 1 } }), { release: false, leaseMs: 5 * MINUTE });
      expect(result!.send).toMatchObject({ leaseOwner: 'worker-1', leaseExpiresAt: T0 + 2 + 5 * MINUTE, createStartedAt: T0 + 2, syncState: 'creating' });
      expect((await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-2', now: T0 + 2 * MINUTE, leaseMs: MINUTE, limit: 1 })).work).toEqual([]);
    });

    it('writes nothing for an owner who no longer holds the lease', async () => {
      const { send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-2', now: T0 + 2 + MINUTE, leaseMs: MINUTE, limit: 1 });
      const before = await store.campaigns.findSend(send.id);
      const outcome = () => ({ changes: queuedRemotely('7001', T0 + 2 * MINUTE), events: [ev({ type: 'remote_created' as const, actor: SYNC_ACTOR, sendId: send.id })] });

      expect(await store.sends.recordOutcome(send.id, 'worker-1', T0 + 2 * MINUTE, outcome, { release: true })).toBeNull();
      expect(await store.sends.recordOutcome('snd_unknown', 'worker-1', T0 + 2 * MINUTE, outcome, { release: true })).toBeNull();
      expect(await store.campaigns.findSend(send.id)).toEqual(before);
      expect(await store.campaigns.sendEvents(send.id, 0, 10)).toEqual([]);

      await store.sends.releaseLease(send.id, 'worker-2');
      expect(await store.sends.recordOutcome(send.id, 'worker-2', T0 + 2 * MINUTE, outcome, { release: true })).toBeNull();
      expect(await store.campaigns.findSend(send.id)).toMatchObject({ status: 'pending', remoteId: null });
    });

    it('writes nothing when an outcome’s decide throws, and keeps the lease', async () => {
      const { send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      const before = await store.campaigns.findSend(send.id);
      const failure = new Error('decide failed');
      await expect(
        store.sends.recordOutcome(send.id, 'worker-1', T0 + 2, () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await store.campaigns.findSend(send.id)).toEqual(before);
    });

    it('releases a lease for its owner only', async () => {
      const { send } = await createOneShot(store, T0);
      await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-1', now: T0 + 1, leaseMs: MINUTE, limit: 1 });
      await store.sends.releaseLease(send.id, 'worker-2');
      expect(await store.campaigns.findSend(send.id)).toMatchObject({ leaseOwner: 'worker-1', leaseExpiresAt: T0 + 1 + MINUTE });

      await store.sends.releaseLease(send.id, 'worker-1');
      expect(await store.campaigns.findSend(send.id)).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
      // Released, it is free at once for anyone.
      const { work, takeovers } = await store.sends.claim({ connectionId: 'conn_a', owner: 'worker-2', now: T0 + 2, leaseMs: MINUTE, limit: 1 });
      expect([work.map((w) => w.send.id), takeovers]).toEqual([[send.id], 0]);
    });

    it('finds the sends owning remote ids on a connection', async () => {
      const a1 = await createOneShot(store, T0, { connectionId: 'conn_a' });
      const a2 = await createOneShot(store, T0 + 1, { connectionId: 'conn_a' });
      const b1 = await createOneShot(store, T0 + 2, { connectionId: 'conn_b' });
      await changeSend(store, a1.send, T0 + 3, queuedRemotely('7001', T0 + 3));
      await changeSend(store, a2.send, T0 + 3, queuedRemotely('7002', T0 + 3));
      await changeSend(store, b1.send, T0 + 3, queuedRemotely('7003', T0 + 3));

      const owners = await store.sends.ownersOfRemoteIds('conn_a', ['7001', '7002', '7003', '9999']);
      expect(owners).toEqual(
        new Map([
          ['7001', a1.send.id],
          ['7002', a2.send.id],
        ]),
      );
      expect(await store.sends.ownersOfRemoteIds('conn_a', [])).toEqual(new Map());
    });

    it("gives the due times of a send's siblings within a window, never its own or another campaign's", async () => {
      const { sends } = await createSeries(store, T0, { nextOccurrenceAt: T0 + 4 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY] });
      await createSeries(store, T0, { nextOccurrenceAt: T0 + 3 * DAY, occurrences: [T0 + 2 * DAY] });
      const [first, second] = sends;
      expect((await store.sends.siblingDueTimes(second!.id, T0, T0 + 5 * DAY)).sort()).toEqual([T0 + DAY, T0 + 3 * DAY]);
      expect(await store.sends.siblingDueTimes(first!.id, T0 + 2 * DAY - HOUR, T0 + 2 * DAY + HOUR)).toEqual([T0 + 2 * DAY]);
      expect(await store.sends.siblingDueTimes(first!.id, T0 + 4 * DAY, T0 + 5 * DAY)).toEqual([]);
    });

    it('counts sends leased by a live owner', async () => {
      await dueSends();
      expect(await store.sends.inFlight(T0 + 30)).toBe(0);
      await claimA('worker-1', T0 + 30, { limit: 2 });
      await store.sends.claim({ connectionId: 'conn_b', owner: 'worker-2', now: T0 + 40, leaseMs: MINUTE, limit: 10 });
      expect(await store.sends.inFlight(T0 + 41)).toBe(3);
      expect(await store.sends.inFlight(T0 + 35 + MINUTE)).toBe(1);
      expect(await store.sends.inFlight(T0 + 41 + MINUTE)).toBe(0);
    });
  });

  describe('stats', () => {
    const SINCE = T0 - DAY;

    /** One connection per way a send can be (or not be) followed by the poller. */
    async function pollingFixture() {
      const queued = await createOneShot(store, T0, { connectionId: 'conn_queued' });
      await changeSend(store, queued.send, T0 + 1, queuedRemotely('7001', T0 + 1));
      const recent = await createOneShot(store, T0 + 2, { connectionId: 'conn_recent' });
      await changeSend(store, recent.send, T0 + 3, sentRemotely('7002', T0 + 3, { sentCount: 1, viewedCount: 0, purchasedCount: 0 }));
      const old = await createOneShot(store, T0 + 4, { connectionId: 'conn_old' });
      await changeSend(store, old.send, T0 + 5, sentRemotely('7003', T0 - 10 * DAY, { sentCount: 1, viewedCount: 0, purchasedCount: 0 }));
      const cancelPending = await createOneShot(store, T0 + 6, { connectionId: 'conn_cancel' });
      await changeSend(store, cancelPending.send, T0 + 7, queuedRemotely('7004', T0 + 7));
      await changeSend(store, cancelPending.send, T0 + 8, { status: 'canceled' });
      const deleted = await createOneShot(store, T0 + 9, { connectionId: 'conn_deleted' });
      await changeSend(store, deleted.send, T0 + 10, queuedRemotely('7005', T0 + 10));
      await changeSend(store, deleted.send, T0 + 11, { status: 'canceled', remoteDeletedAt: T0 + 11 });
      const local = await createOneShot(store, T0 + 12, { connectionId: 'conn_local' });
      return { queued, recent, old, cancelPending, deleted, local };
    }

    it('polls connections with a live remote copy that is open or recently sent', async () => {
      await pollingFixture();
      expect([...(await store.stats.connectionsToPoll(SINCE))].sort()).toEqual(['conn_cancel', 'conn_queued', 'conn_recent']);
      expect([...(await store.stats.connectionsToPoll(T0 + 4))].sort()).toEqual(['conn_cancel', 'conn_queued']);
    });

    const ALL = { afterId: null, limit: 100 };

    it('gives the tracked sends of a connection, with only the slim fields', async () => {
      const { queued, old } = await pollingFixture();
      const fresh = (await store.campaigns.findSend(queued.send.id))!;
      expect(await store.stats.tracked('conn_queued', SINCE, ALL)).toEqual([
        {
          id: fresh.id,
          status: 'queued',
          remoteId: '7001',
          remoteList: 'scheduled',
          remoteSeenAt: null,
          remoteMissingAt: null,
          createdAt: fresh.createdAt,
        },
      ]);
      expect(await store.stats.tracked('conn_old', SINCE, ALL)).toEqual([]);
      expect((await store.stats.tracked('conn_old', T0 - 11 * DAY, ALL)).map((t) => t.id)).toEqual([old.send.id]);
      expect(await store.stats.tracked('conn_local', SINCE, ALL)).toEqual([]);
      expect(await store.stats.tracked('conn_deleted', SINCE, ALL)).toEqual([]);
    });

    it('pages the tracked sends by id, skipping the untracked in between', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const created = await createOneShot(store, T0 + i * 10, { connectionId: 'conn_many' });
        // Every third one was sent before the window: not tracked, yet between tracked ids.
        const sentAt = i % 3 === 1 ? T0 - 10 * DAY : T0 + i * 10 + 1;
        await changeSend(store, created.send, T0 + i * 10 + 1, sentRemotely(String(8000 + i), sentAt, { sentCount: 1, viewedCount: 0, purchasedCount: 0 }));
        if (i % 3 !== 1) ids.push(created.send.id);
      }
      const pages: string[][] = [];
      let afterId: string | null = null;
      for (;;) {
        const page = await store.stats.tracked('conn_many', SINCE, { afterId, limit: 2 });
        pages.push(page.map((t) => t.id));
        if (page.length < 2) break;
        afterId = page[page.length - 1]!.id;
      }
      expect(pages).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
      expect(pages.flat()).toEqual([...ids].sort());
      expect(await store.stats.tracked('conn_many', SINCE, { afterId: ids.at(-1)!, limit: 2 })).toEqual([]);
    });

    it('says whether a connection has sync work due', async () => {
      const { local } = await pollingFixture();
      expect(await store.stats.hasSyncDue('conn_local', local.send.syncDueAt!)).toBe(true);
      expect(await store.stats.hasSyncDue('conn_local', local.send.syncDueAt! - 1)).toBe(false);
      // A cancel whose remote copy is still live owes a delete.
      expect(await store.stats.hasSyncDue('conn_cancel', T0 + HOUR)).toBe(true);
      expect(await store.stats.hasSyncDue('conn_queued', T0 + HOUR)).toBe(false);
      expect(await store.stats.hasSyncDue('conn_unknown', T0 + HOUR)).toBe(false);
    });

    it('applies a page: observes tracked sends met by remote id, writes what they show, counts the untracked', async () => {
      const now = T0 + HOUR;
      const observed = await createOneShot(store, T0, { connectionId: 'conn_a' });
      await changeSend(store, observed.send, T0 + 1, queuedRemotely('7001', T0 + 1));
      const byQueueId = await createOneShot(store, T0 + 2, { connectionId: 'conn_a' });
      await changeSend(store, byQueueId.send, T0 + 3, queuedRemotely('7002', T0 + 3));
      const ignored = await createOneShot(store, T0 + 4, { connectionId: 'conn_a' });
      const ignoredBefore = await changeSend(store, ignored.send, T0 + 5, queuedRemotely('7003', T0 + 5));
      const elsewhere = await createOneShot(store, T0 + 6, { connectionId: 'conn_b' });
      await changeSend(store, elsewhere.send, T0 + 7, queuedRemotely('7004', T0 + 7));

      const observe = vi.fn((send: Send, item: StatsItem): Observation => {
        if (send.id !== observed.send.id) return { changes: { remoteSeenAt: now }, events: [], snapshot: null, isChange: false };
        return {
          changes: { status: 'sent', remoteList: 'sent', remoteSeenAt: now, sentAt: now, statsObservedAt: now, sentCount: item.sentCount, viewedCount: item.viewedCount, purchasedCount: item.purchasedCount },
          events: [ev({ type: 'status_changed', actor: STATS_ACTOR, sendId: send.id, data: { from: send.status, to: 'sent' } })],
          snapshot: { type: 'sent', sentCount: item.sentCount, viewedCount: item.viewedCount, purchasedCount: item.purchasedCount },
          isChange: true,
        };
      });
      const items = [statsItem(7001), statsItem(8002, { queueId: 7002 }), statsItem(7003), statsItem(7004), statsItem(9999)];

      const result = await store.stats.applyPage({ connectionId: 'conn_a', type: 'sent', items, now, isTracked: (id) => id !== ignored.send.id, observe });

      expect(result).toEqual({ seen: [observed.send.id, byQueueId.send.id], changed: 1, statusChanges: 1, snapshots: 1, untracked: 2 });
      expect(observe).toHaveBeenCalledTimes(2);
      expect(observe.mock.calls[0]![0]).toMatchObject({ id: observed.send.id, status: 'queued', remoteId: '7001' });
      expect(observe.mock.calls[0]![1]).toBe(items[0]);
      expect(await store.campaigns.find(observed.campaign.id)).toMatchObject({
        campaign: { status: 'sent' },
        send: { status: 'sent', sentAt: now, sentCount: 100, viewedCount: 40, purchasedCount: 3, statsObservedAt: now, updatedAt: now },
      });
      expect(await store.campaigns.findSend(byQueueId.send.id)).toMatchObject({ status: 'queued', remoteSeenAt: now });
      expect(await store.campaigns.findSend(ignored.send.id)).toEqual(ignoredBefore);
      expect(await store.campaigns.sendEvents(observed.send.id, 0, 10)).toMatchObject([{ type: 'status_changed', actor: STATS_ACTOR, at: now, data: { from: 'queued', to: 'sent' } }]);
      expect(await store.stats.snapshots({ sendId: observed.send.id, limit: 10 })).toEqual([
        { id: expect.any(Number), campaignId: observed.campaign.id, sendId: observed.send.id, observedAt: now, type: 'sent', sentCount: 100, viewedCount: 40, purchasedCount: 3 },
      ]);
      expect(await store.stats.finishPoll('conn_a', now)).toBe(2);
    });

    it('writes nothing of a page when observe throws', async () => {
      const a = await createOneShot(store, T0);
      await changeSend(store, a.send, T0 + 1, queuedRemotely('7001', T0 + 1));
      const b = await createOneShot(store, T0 + 2);
      await changeSend(store, b.send, T0 + 3, queuedRemotely('7002', T0 + 3));
      const before = await store.campaigns.findSend(a.send.id);
      const failure = new Error('observe failed');
      const observe = (send: Send): Observation => {
        if (send.id === b.send.id) throw failure;
        return { changes: { remoteSeenAt: T0 + HOUR, statsObservedAt: T0 + HOUR, sentCount: 5 }, events: [], snapshot: { type: 'scheduled', sentCount: 5, viewedCount: 0, purchasedCount: 0 }, isChange: true };
      };
      await expect(store.stats.applyPage({ connectionId: 'conn_a', type: 'scheduled', items: [statsItem(7001), statsItem(7002)], now: T0 + HOUR, isTracked: () => true, observe })).rejects.toBe(failure);
      expect(await store.campaigns.findSend(a.send.id)).toEqual(before);
      expect(await store.stats.snapshots({ campaignId: a.campaign.id, limit: 10 })).toEqual([]);
    });

    it('counts each untracked message once, and no longer once a send owns it', async () => {
      const page = { connectionId: 'conn_a', type: 'sent' as const, isTracked: () => true, observe: vi.fn() };
      expect((await store.stats.applyPage({ ...page, items: [statsItem(9001), statsItem(9002)], now: T0 })).untracked).toBe(2);
      expect((await store.stats.applyPage({ ...page, items: [statsItem(9001)], now: T0 + MINUTE })).untracked).toBe(1);
      expect(await store.stats.finishPoll('conn_a', T0 + MINUTE)).toBe(2);
      expect(await store.connections.find('conn_a')).toMatchObject({ untrackedCount: 2, statsPolledAt: T0 + MINUTE });

      // The reconciler adopted 9001 (a create of unknown outcome, found remotely).
      const adopter = await createOneShot(store, T0 + 2 * MINUTE, { connectionId: 'conn_a' });
      await changeSend(store, adopter.send, T0 + 2 * MINUTE, queuedRemotely('9001', T0 + 2 * MINUTE));
      expect(await store.stats.finishPoll('conn_a', T0 + 3 * MINUTE)).toBe(1);
      expect(await store.stats.finishPoll('conn_other', T0 + 3 * MINUTE)).toBe(0);
      expect(page.observe).not.toHaveBeenCalled();
    });

    it('flags a send missing only when decide says so, on the row as it is now', async () => {
      const { send } = await createOneShot(store, T0);
      const fresh = await changeSend(store, send, T0 + 1, queuedRemotely('7001', T0 + 1));
      const keep = vi.fn(() => null);
      expect(await store.stats.flagMissing(send.id, T0 + HOUR, keep)).toBe(false);
      expect(keep).toHaveBeenCalledExactlyOnceWith(fresh);
      expect(await store.campaigns.findSend(send.id)).toEqual(fresh);

      const flag = (s: Send) => ({ changes: { remoteMissingAt: T0 + HOUR }, events: [ev({ type: 'remote_missing' as const, actor: STATS_ACTOR, sendId: s.id })] });
      expect(await store.stats.flagMissing(send.id, T0 + HOUR, flag)).toBe(true);
      expect(await store.campaigns.findSend(send.id)).toMatchObject({ remoteMissingAt: T0 + HOUR, updatedAt: T0 + HOUR });
      expect(await store.campaigns.sendEvents(send.id, 0, 10)).toMatchObject([{ type: 'remote_missing', at: T0 + HOUR }]);
      expect(await store.stats.flagMissing('snd_unknown', T0 + HOUR, flag)).toBe(false);
    });

    it('gives snapshots oldest first, by campaign or send, within [from, to], up to the limit', async () => {
      const series = await createSeries(store, T0, { nextOccurrenceAt: T0 + 2 * DAY, occurrences: [T0 + DAY, T0 + 2 * DAY] });
      const [a, b] = series.sends as [Send, Send];
      await changeSend(store, a, T0 + 1, queuedRemotely('7001', T0 + 1));
      await changeSend(store, b, T0 + 1, queuedRemotely('7002', T0 + 1));
      const other = await createOneShot(store, T0 + 2);
      await changeSend(store, other.send, T0 + 3, queuedRemotely('7003', T0 + 3));
      const polls = [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR];
      for (const [i, now] of polls.entries()) {
        await store.stats.applyPage({
          connectionId: 'conn_a',
          type: 'scheduled',
          items: [statsItem(7001), statsItem(7002), statsItem(7003)],
          now,
          isTracked: () => true,
          observe: () => ({ changes: { statsObservedAt: now, sentCount: i }, events: [], snapshot: { type: 'scheduled', sentCount: i, viewedCount: null, purchasedCount: null }, isChange: true }),
        });
      }

      const ofSeries = await store.stats.snapshots({ campaignId: series.campaign.id, limit: 100 });
      expect(ofSeries.map((s) => s.observedAt)).toEqual([polls[0], polls[0], polls[1], polls[1], polls[2], polls[2]]);
      expect(new Set(ofSeries.map((s) => s.sendId))).toEqual(new Set([a.id, b.id]));
      expect((await store.stats.snapshots({ sendId: a.id, limit: 100 })).map((s) => [s.observedAt, s.sentCount, s.viewedCount])).toEqual(polls.map((p, i) => [p, i, null]));
      expect((await store.stats.snapshots({ sendId: a.id, from: polls[1], to: polls[2], limit: 100 })).map((s) => s.observedAt)).toEqual([polls[1], polls[2]]);
      expect((await store.stats.snapshots({ campaignId: series.campaign.id, from: polls[1], to: polls[1], limit: 100 })).map((s) => s.observedAt)).toEqual([polls[1], polls[1]]);
      expect((await store.stats.snapshots({ campaignId: series.campaign.id, limit: 3 })).map((s) => s.observedAt)).toEqual([polls[0], polls[0], polls[1]]);
      expect(await store.stats.snapshots({ campaignId: other.campaign.id, sendId: a.id, limit: 100 })).toEqual([]);
      expect((await store.campaigns.find(series.campaign.id))!.series!.totals).toEqual({ sentCount: 4, viewedCount: 0, purchasedCount: 0, observedAt: polls[2] });
    });

    it('totals sent sends per connection and UTC day of sentAt', async () => {
      const day1 = Date.UTC(2030, 0, 1);
      const sent = async (at: number, connectionId: string, remoteId: string, sentAt: number, counts: Parameters<typeof sentRemotely>[2]) => {
        const { send } = await createOneShot(store, at, { connectionId });
        await changeSend(store, send, sentAt, sentRemotely(remoteId, sentAt, counts));
      };
      await sent(T0, 'conn_a', '7001', T0, { sentCount: 100, viewedCount: 50, purchasedCount: 5, remotePrice: 999 });
      // No price reported: the campaign's own ($9.99) counts.
      await sent(T0 + 1, 'conn_a', '7002', T0 + HOUR, { sentCount: 10, viewedCount: 4, purchasedCount: 2, remotePrice: null });
      await sent(T0 + 2, 'conn_a', '7003', T0 + 13 * HOUR, { sentCount: 7, viewedCount: 0, purchasedCount: 0, remotePrice: 500 });
      await sent(T0 + 3, 'conn_b', '7004', T0 + 2 * HOUR, { sentCount: 1, viewedCount: 1, purchasedCount: 1, remotePrice: 500 });
      await sent(T0 + 4, 'conn_a', '7005', T0 - 3 * DAY, { sentCount: 1000, viewedCount: 1000, purchasedCount: 1000, remotePrice: 500 });
      const queued = await createOneShot(store, T0 + 5, { connectionId: 'conn_a' });
      await changeSend(store, queued.send, T0 + 6, queuedRemotely('7006', T0 + 6));

      const range = { from: day1, to: day1 + 2 * DAY - 1 };
      const a1 = { connectionId: 'conn_a', day: '2030-01-01', sendsSent: 2, messagesSent: 110, views: 54, purchases: 7, revenueCents: 5 * 999 + 2 * 999 };
      const a2 = { connectionId: 'conn_a', day: '2030-01-02', sendsSent: 1, messagesSent: 7, views: 0, purchases: 0, revenueCents: 0 };
      const b1 = { connectionId: 'conn_b', day: '2030-01-01', sendsSent: 1, messagesSent: 1, views: 1, purchases: 1, revenueCents: 500 };
      const sorted = (rows: DayTotalsRow[]) => [...rows].sort((x, y) => x.connectionId.localeCompare(y.connectionId) || x.day.localeCompare(y.day));
      expect(sorted(await store.stats.dayTotals({ ...range, connectionIds: null }))).toEqual([a1, a2, b1]);
      expect(await store.stats.dayTotals({ ...range, connectionIds: ['conn_b'] })).toEqual([b1]);
      expect(await store.stats.dayTotals({ ...range, connectionIds: [] })).toEqual([]);
      expect(await store.stats.dayTotals({ from: day1, to: day1 + DAY - 1, connectionIds: ['conn_a'] })).toEqual([a1]);
    });

    it('gives connection rows: all, some or none', async () => {
      await store.stats.applyPage({ connectionId: 'conn_a', type: 'sent', items: [statsItem(9001)], now: T0, isTracked: () => true, observe: vi.fn() });
      await store.stats.finishPoll('conn_a', T0);
      await store.stats.finishPoll('conn_b', T0 + MINUTE);
      await store.connections.markHealthy('conn_c', T0);

      const all = [
        { id: 'conn_a', untrackedCount: 1, statsPolledAt: T0 },
        { id: 'conn_b', untrackedCount: 0, statsPolledAt: T0 + MINUTE },
        { id: 'conn_c', untrackedCount: 0, statsPolledAt: null },
      ];
      expect([...(await store.stats.connectionRows(null))].sort((x, y) => x.id.localeCompare(y.id))).toEqual(all);
      expect(await store.stats.connectionRows(['conn_b', 'conn_unknown'])).toEqual([all[1]]);
      expect(await store.stats.connectionRows([])).toEqual([]);
    });
  });

  describe('connections', () => {
    it('finds a connection once something recorded it, null before', async () => {
      expect(await store.connections.find('conn_a')).toBeNull();
      expect(await store.connections.markHealthy('conn_a', T0)).toBe(false);
      expect(await store.connections.find('conn_a')).toEqual({ id: 'conn_a', pausedAt: null, pauseReason: null, lastProbeAt: null, lastSuccessAt: T0, untrackedCount: 0, statsPolledAt: null });
      expect(await store.connections.paused()).toEqual([]);
    });

    it('pauses a connection and marks its sends with due work paused, with the reason', async () => {
      const due = await createOneShot(store, T0, { connectionId: 'conn_a' });
      const synced = await createOneShot(store, T0 + 1, { connectionId: 'conn_a' });
      const syncedBefore = await changeSend(store, synced.send, T0 + 2, queuedRemotely('7001', T0 + 2));
      const elsewhere = await createOneShot(store, T0 + 3, { connectionId: 'conn_b' });

      await store.connections.pause('conn_a', 'auth_failed', T0 + MINUTE);

      expect(await store.connections.find('conn_a')).toMatchObject({ id: 'conn_a', pausedAt: T0 + MINUTE, pauseReason: 'auth_failed' });
      expect((await store.connections.paused()).map((c) => [c.id, c.pauseReason])).toEqual([['conn_a', 'auth_failed']]);
      expect(await store.campaigns.findSend(due.send.id)).toMatchObject({ syncState: 'paused', lastError: 'auth_failed', status: 'pending' });
      expect(await store.campaigns.findSend(synced.send.id)).toEqual(syncedBefore);
      expect(await store.campaigns.findSend(elsewhere.send.id)).toEqual(elsewhere.send);
    });

    it('resumes a paused connection on success (true only then), its sends pending again', async () => {
      const due = await createOneShot(store, T0, { connectionId: 'conn_a' });
      await store.connections.pause('conn_a', 'auth_failed', T0 + MINUTE);

      expect(await store.connections.markHealthy('conn_a', T0 + 2 * MINUTE)).toBe(true);
      expect(await store.connections.find('conn_a')).toMatchObject({ pausedAt: null, pauseReason: null, lastSuccessAt: T0 + 2 * MINUTE });
      expect(await store.connections.paused()).toEqual([]);
      expect(await store.campaigns.findSend(due.send.id)).toMatchObject({ syncState: 'pending', lastError: null, syncDueAt: expect.any(Number) });
      expect(await store.connections.markHealthy('conn_a', T0 + 3 * MINUTE)).toBe(false);
      expect(await store.connections.markHealthy('conn_a', T0 + HOUR)).toBe(false);
    });

    it('stamps a probe', async () => {
      await store.connections.pause('conn_a', 'auth_failed', T0);
      await store.connections.markProbed('conn_a', T0 + 5 * MINUTE);
      expect(await store.connections.find('conn_a')).toMatchObject({ pausedAt: T0, lastProbeAt: T0 + 5 * MINUTE });
    });
  });

  describe('runs', () => {
    const run = (kind: Run['kind'], startedAt: number, overrides: Partial<Run> = {}): Run => ({ kind, owner: 'host-1:42', startedAt, durationMs: 120, summary: { created: 1, failed: 0 }, error: null, ...overrides });

    it('gives the last run of each kind, null before any', async () => {
      expect(await store.runs.last('sync')).toBeNull();
      await store.runs.record(run('sync', T0));
      await store.runs.record(run('stats', T0 + 1, { summary: null, error: 'poll failed' }));
      await store.runs.record(run('sync', T0 + MINUTE, { summary: { created: 0, nested: { a: [1, 2] } } }));
      expect(await store.runs.last('sync')).toEqual(run('sync', T0 + MINUTE, { summary: { created: 0, nested: { a: [1, 2] } } }));
      expect(await store.runs.last('stats')).toEqual(run('stats', T0 + 1, { summary: null, error: 'poll failed' }));
    });

    it('keeps the latest of each kind while pruning old runs of another', async () => {
      await store.runs.record(run('stats', T0));
      for (let i = 1; i <= 600; i++) await store.runs.record(run('sync', T0 + i * MINUTE));
      expect(await store.runs.last('sync')).toEqual(run('sync', T0 + 600 * MINUTE));
      expect(await store.runs.last('stats')).toEqual(run('stats', T0));
    });
  });

  describe('tokens', () => {
    it('inserts tokens and finds the active ones by hash and by name', async () => {
      const scoped = tokenRecord('tok_1', { connectionIds: ['conn_a', 'conn_b'] });
      const admin = tokenRecord('tok_2', { role: 'admin', connectionIds: null });
      expect(await store.tokens.insert(scoped)).toEqual(scoped);
      expect(await store.tokens.insert(admin)).toEqual(admin);

      expect(await store.tokens.findActiveByHash('hash-tok_1')).toEqual(scoped);
      expect(await store.tokens.findActiveByHash('hash-unknown')).toBeNull();
      expect(await store.tokens.findActiveByName('token-tok_2')).toEqual(admin);
      expect(await store.tokens.findActiveByName('nobody')).toBeNull();
      expect([...(await store.tokens.listActive())].sort((a, b) => a.id.localeCompare(b.id))).toEqual([scoped, admin]);
    });

    it('revokes a token once, then it is no longer active', async () => {
      await store.tokens.insert(tokenRecord('tok_1'));
      await store.tokens.insert(tokenRecord('tok_2'));
      expect(await store.tokens.revoke('tok_1', T0 + MINUTE)).toBe(true);
      expect(await store.tokens.revoke('tok_1', T0 + 2 * MINUTE)).toBe(false);
      expect(await store.tokens.revoke('tok_unknown', T0)).toBe(false);
      expect(await store.tokens.findActiveByHash('hash-tok_1')).toBeNull();
      expect(await store.tokens.findActiveByName('token-tok_1')).toBeNull();
      expect((await store.tokens.listActive()).map((t) => t.id)).toEqual(['tok_2']);
      // The name is free again for a new token.
      await store.tokens.insert(tokenRecord('tok_3', { name: 'token-tok_1' }));
      expect((await store.tokens.findActiveByName('token-tok_1'))!.id).toBe('tok_3');
    });

    it('keeps its version while nothing changes', async () => {
      const version = await store.tokens.version();
      expect(typeof version).toBe('number');
      expect(await store.tokens.version()).toBe(version);
    });
  });

  describe.runIf(backend.openPeers !== undefined)('across processes', () => {
    const peers = usePeerStores(backend);

    it('changes the token version when another process changes tokens', async () => {
      const before = await peers.mine.tokens.version();
      await peers.theirs.tokens.insert(tokenRecord('tok_1'));
      const afterInsert = await peers.mine.tokens.version();
      expect(afterInsert).not.toBe(before);
      expect(await peers.mine.tokens.version()).toBe(afterInsert);
      await peers.theirs.tokens.revoke('tok_1', T0);
      expect(await peers.mine.tokens.version()).not.toBe(afterInsert);
      expect(await peers.mine.tokens.findActiveByHash('hash-tok_1')).toBeNull();
    });

    // "Differs … iff another process changed tokens": a campaign written elsewhere is no reason
    // to drop every cached principal (with a second instance syncing, that would be every tick).
    itHolds('token-version-ignores-other-writes')('keeps the token version when another process changes anything but tokens', async () => {
      const before = await peers.mine.tokens.version();
      await createOneShot(peers.theirs, T0);
      expect(await peers.mine.tokens.version()).toBe(before);
    });

    it('never hands a send leased by one process to another', async () => {
      const { send } = await createOneShot(peers.theirs, T0);
      const claim = (store: Store, owner: string, now: number) => store.sends.claim({ connectionId: 'conn_a', owner, now, leaseMs: MINUTE, limit: 10 });
      expect((await claim(peers.mine, 'host-1', T0 + 1)).work.map((w) => w.send.id)).toEqual([send.id]);
      expect(await claim(peers.theirs, 'host-2', T0 + 2)).toEqual({ work: [], takeovers: 0 });
      expect((await claim(peers.theirs, 'host-2', T0 + 2 + MINUTE)).takeovers).toBe(1);
    });
  });

  describe('store', () => {
    it('answers a ping while open, and not once closed', async () => {
      expect(await store.ping()).toBe(true);
      await store.close();
      isClosed = true;
      expect(await store.ping()).toBe(false);
    });
  });
}
