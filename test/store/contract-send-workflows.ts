import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConflictError } from '../../src/errors.ts';
import type { EventSpec } from '../../src/events/types.ts';
import type { NewSend } from '../../src/sends/model.ts';
import type { Store } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';
import { MINUTE, T0, changeSend, createDraft, createOneShot, createSeries, DAY, sentRemotely } from './fixtures.ts';

/*
 * The store contract for test sends and unsends, on every backend: mutateSend (a marketer's
 * write to one send outside the loop), and test sends kept out of everything a campaign decides
 * on and everything that is counted.
 */

const testSendOf = (campaign: { id: string; connectionId: string; revision: number }, at: number, id = 'snd_01TESTSEND0000000000000001'): NewSend => ({
  id,
  campaignId: campaign.id,
  connectionId: campaign.connectionId,
  kind: 'test',
  occurrenceAt: null,
  dueAt: at,
  revision: campaign.revision,
  status: 'pending',
  testUserId: 101,
  createdAt: at,
  updatedAt: at,
});

export function defineSendWorkflowContract(backend: StoreBackend): void {
  describe('test sends and unsends', () => {
    let store: Store;
    beforeEach(async () => {
      store = await backend.open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('mutateSend decides on the send and its campaign as they are, writes changes and events, and recomputes the due time', async () => {
      const { campaign, send } = await createOneShot(store, T0);
      await changeSend(store, send, T0 + 1, sentRemotely('9001', T0 + 2, { sentCount: 5, viewedCount: 1, purchasedCount: 0 }));
      const decide = vi.fn(() => ({
        changes: { unsendRequestedAt: T0 + 3 },
        events: [{ type: 'unsend_requested', actor: 'alice', sendId: send.id, data: { remoteId: '9001' } } as EventSpec],
      }));

      const result = await store.sends.mutateSend(send.id, T0 + 3, decide);

      expect(decide).toHaveBeenCalledOnce();
      expect(decide.mock.calls[0]).toMatchObject([{ send: { id: send.id, status: 'sent' }, campaign: { id: campaign.id, status: 'sent' } }]);
      // Due at once: sent, with a live remote copy and an unsend asked for.
      expect(result!.send).toMatchObject({ unsendRequestedAt: T0 + 3, syncDueAt: T0 + 3, syncState: 'pending', status: 'sent' });
      expect(await store.campaigns.findSend(send.id)).toEqual(result!.send);
      expect(await store.campaigns.sendEvents(send.id, 0, 10)).toMatchObject([{ type: 'unsend_requested', actor: 'alice', at: T0 + 3 }]);
      expect(await store.sends.dueByConnection(T0 + 3)).toEqual([{ connectionId: campaign.connectionId, due: 1 }]);
    });

    it('mutateSend writes nothing when decide throws, and answers null for an unknown send', async () => {
      const { send } = await createOneShot(store, T0);
      const before = await store.campaigns.findSend(send.id);
      await expect(
        store.sends.mutateSend(send.id, T0 + 1, () => {
          throw new ConflictError('invalid_state', 'no');
        }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect(await store.campaigns.findSend(send.id)).toEqual(before);
      const decide = vi.fn(() => ({ changes: {} }));
      expect(await store.sends.mutateSend('snd_01UNKNOWN00000000000000000', T0, decide)).toBeNull();
      expect(decide).not.toHaveBeenCalled();
    });

    it('schedules message.unsendAfter from sentAt: due then, not before, and never once unsent', async () => {
      const { send } = await createOneShot(store, T0);
      const sent = await changeSend(store, send, T0 + 1, { ...sentRemotely('9002', T0 + 2, { sentCount: 5, viewedCount: 1, purchasedCount: 0 }), unsendAfterMs: 30 * MINUTE });
      expect(sent).toMatchObject({ syncDueAt: T0 + 2 + 30 * MINUTE });
      expect(await store.sends.dueByConnection(T0 + 2 + 30 * MINUTE - 1)).toEqual([]);
      expect((await store.sends.claim({ connectionId: sent.connectionId, owner: 'w', now: T0 + 2 + 30 * MINUTE, leaseMs: MINUTE, limit: 5 })).work.map((w) => w.send.id)).toEqual([send.id]);
      const unsent = await store.sends.recordOutcome(send.id, 'w', T0 + 40 * MINUTE, () => ({ changes: { status: 'unsent', unsentAt: T0 + 40 * MINUTE } }));
      expect(unsent!.send).toMatchObject({ status: 'unsent', syncDueAt: null });
      // A one-shot campaign mirrors it.
      expect(unsent!.campaign.status).toBe('unsent');
    });

    it('keeps test sends out of what a campaign decides on, its status and its series counts', async () => {
      const draft = await createDraft(store, T0);
      const record = await store.campaigns.mutate(draft.campaign.id, T0 + 1, () => ({ insertSends: [testSendOf(draft.campaign, T0 + 1)] }));
      expect(record!.campaign.status).toBe('draft');
      const listed = await store.campaigns.listSends(draft.campaign.id, { limit: 10 });
      expect(listed).toMatchObject([{ kind: 'test', status: 'pending', testUserId: 101, syncDueAt: T0 + 1 }]);
      const seen = vi.fn(() => ({}));
      await store.campaigns.mutate(draft.campaign.id, T0 + 2, seen);
      expect(seen.mock.calls[0]).toMatchObject([{ sends: [] }]);

      const series = await createSeries(store, T0, { nextOccurrenceAt: T0 + DAY });
      await store.campaigns.mutate(series.campaign.id, T0 + 1, () => ({ insertSends: [testSendOf(series.campaign, T0 + 1, 'snd_01TESTSEND0000000000000002')] }));
      const found = await store.campaigns.find(series.campaign.id);
      expect(Object.values(found!.series!.sendCounts).reduce((a, b) => a + b, 0)).toBe(0);
    });

    it('leaves test sends off the calendar: plannedSends neither lists nor counts them', async () => {
      const { campaign, send } = await createOneShot(store, T0, { scheduledAt: T0 + 2 * MINUTE });
      await store.campaigns.mutate(campaign.id, T0 + MINUTE, () => ({ insertSends: [testSendOf(campaign, T0 + MINUTE)] }));
      expect(await store.campaigns.listSends(campaign.id, { limit: 10 })).toHaveLength(2);

      const planned = await store.campaigns.plannedSends({ from: T0, to: T0 + DAY, connectionIds: null, limit: 10 });

      expect(planned.sends.map((s) => s.sendId)).toEqual([send.id]);
      expect(planned.counts).toEqual([{ connectionId: campaign.connectionId, status: 'pending', count: 1 }]);
    });
  });
}
