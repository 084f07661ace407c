import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toCampaignView } from '../../src/campaigns/view.ts';
import { CAMPAIGN_VIEW_COLUMNS, SEND_VIEW_COLUMNS, type CampaignFilter, type CampaignRecord, type Store } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';
import { DAY, HOUR, T0, changeSend, createDraft, createOneShot, createSeries, queuedRemotely, sentRemotely } from './fixtures.ts';

const pick = <T extends object, K extends keyof T>(row: T, keys: readonly K[]): Pick<T, K> => Object.fromEntries(keys.map((key) => [key, row[key]])) as Pick<T, K>;

/** A whole record cut to the columns a view shows. */
const cutToView = ({ campaign, send, series }: CampaignRecord) => ({
  campaign: pick(campaign, CAMPAIGN_VIEW_COLUMNS),
  send: send === null ? null : pick(send, SEND_VIEW_COLUMNS),
  series,
});

/** findView and listViews: find's and list's rows, read only as wide as the API shows them. */
export function defineViewReadContract(backend: StoreBackend): void {
  let store: Store;
  beforeEach(async () => {
    store = await backend.open();
  });
  afterEach(async () => {
    await store.close();
  });

  describe('campaigns.findView', () => {
    it("gives find's record cut to the view's columns: a one-shot with its send, a series with its summary, a draft bare", async () => {
      const oneShot = await createOneShot(store, T0);
      await changeSend(store, oneShot.send, T0 + 2 * HOUR, sentRemotely('mm_1', T0 + 2 * HOUR, { sentCount: 90, viewedCount: 40, purchasedCount: 3 }));
      const series = await createSeries(store, T0 + 1, { nextOccurrenceAt: T0 + DAY, occurrences: [T0 + DAY] });
      const draft = await createDraft(store, T0 + 2);

      for (const id of [oneShot.campaign.id, series.campaign.id, draft.campaign.id]) {
        const whole = (await store.campaigns.find(id))!;
        expect(await store.campaigns.findView(id)).toEqual(cutToView(whole));
      }
      expect((await store.campaigns.findView(oneShot.campaign.id))!.send).toMatchObject({ remoteId: 'mm_1', sentCount: 90 });
      expect((await store.campaigns.findView(series.campaign.id))!.series!.sendCounts.pending).toBe(1);
      expect(await store.campaigns.findView('cmp_unknown')).toBeNull();
    });
  });

  describe('campaigns.listViews', () => {
    it("gives list's rows, in list's order, cut to the view's columns, for every kind of filter", async () => {
      const sent = await createOneShot(store, T0, { connectionId: 'conn_a', name: 'Friday PPV drop', scheduledAt: T0 + HOUR });
      await changeSend(store, sent.send, T0 + 2 * HOUR, sentRemotely('mm_1', T0 + 2 * HOUR, { sentCount: 90, viewedCount: 40, purchasedCount: 3 }));
      const queued = await createOneShot(store, T0 + 1, { connectionId: 'conn_b', scheduledAt: T0 + 3 * HOUR });
      await changeSend(store, queued.send, T0 + 2, { ...queuedRemotely('mm_2', T0 + 2), lastError: 'timeout', attempts: 2, nextAttemptAt: T0 + 5 });
      const series = await createSeries(store, T0 + 2, { nextOccurrenceAt: T0 + DAY, occurrences: [T0 + DAY] }, { connectionId: 'conn_a' });
      const draft = await createDraft(store, T0 + 3, { connectionId: 'conn_c', name: '50% off' });

      const filters: CampaignFilter[] = [
        { connectionIds: null, limit: 10 },
        { connectionIds: null, limit: 2 },
        { connectionIds: null, limit: 10, beforeId: series.campaign.id },
        { connectionIds: ['conn_a'], limit: 10 },
        { connectionIds: [], limit: 10 },
        { connectionIds: null, statuses: ['draft', 'queued'], limit: 10 },
        { connectionIds: null, scheduledFrom: T0 + HOUR, scheduledTo: T0 + 2 * HOUR, limit: 10 },
        { connectionIds: null, nameContains: '50%', limit: 10 },
      ];
      for (const filter of filters) {
        const whole = await store.campaigns.list(filter);
        const views = await store.campaigns.listViews(filter);
        expect(views, JSON.stringify(filter)).toEqual(whole.map(cutToView));
        // What the API answers is the same whichever was read.
        expect(views.map(toCampaignView)).toEqual(whole.map(toCampaignView));
      }
      const all = await store.campaigns.listViews({ connectionIds: null, limit: 10 });
      expect(all.map((r) => r.campaign.id)).toEqual([draft.campaign.id, series.campaign.id, queued.campaign.id, sent.campaign.id]);
      // A draft has no send yet and a series none of its own: only the one-shots carry one.
      expect(all.map((r) => r.send === null)).toEqual([true, true, false, false]);
      expect(all[2]!.send).toMatchObject({ remoteId: 'mm_2', lastError: 'timeout', attempts: 2, nextAttemptAt: T0 + 5 });
      expect(all[3]!.send).toMatchObject({ remoteId: 'mm_1', sentCount: 90, viewedCount: 40, purchasedCount: 3, statsObservedAt: T0 + 2 * HOUR });
      expect(all[1]!.series!.sendCounts.pending).toBe(1);
    });
  });
}
