import { afterEach, describe, expect, it } from 'vitest';
import type { StatsType } from '../../src/ofauth/schemas.ts';
import { toOfauthDate } from '../../src/sync/remote-body.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, getCampaign } from './support.ts';

/**
 * A create whose answer was lost leaves our message M on the simulator; then `others` newer
 * scheduled messages are created, so M sits right after the first page (20) of the scheduled list.
 */
async function ambiguousCreateBehind(h: SyncHarness, others: number) {
  const campaign = await createSimCampaign(h);
  h.sim.setFaults({ dropAfterCommit: 1 });
  expect(await h.reconciler.reconcileOnce()).toMatchObject({ ambiguous: 1 });
  h.sim.setFaults({});
  const [ours] = h.sim.messages();
  const otherIds: number[] = [];
  for (let i = 0; i < others; i++) {
    h.clock.advance(10);
    const status = await h.client.createMassMessage('conn_sandbox', { text: `Someone else's message ${i}`, userLists: [1], scheduledDate: toOfauthDate(h.clock.now() + 7_200_000) });
    otherIds.push(status.id);
  }
  h.clock.advance(30_000); // past SYNC_SETTLE: the next tick searches
  return { campaign, oursId: ours!.id, otherIds };
}

/** Replaces listMassMessages (one client method) to log each page read and act after one. */
function watchLists(h: SyncHarness, after?: (type: StatsType, offset: number, ids: number[]) => Promise<void> | void) {
  const reads: Array<{ type: StatsType; offset: number }> = [];
  const realList = h.client.listMassMessages.bind(h.client);
  h.client.listMassMessages = async (connectionId, q, opts) => {
    const page = await realList(connectionId, q, opts);
    reads.push({ type: q.type, offset: q.offset ?? 0 });
    await after?.(q.type, q.offset ?? 0, page.list.map((item) => item.id));
    return page;
  };
  return { reads, realList };
}

describe('find-remote: a search while OFAuth removes items', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it.each([1, 2])('adopts our message when %i items above it leave the list between two page reads', async (removed) => {
    h = await buildSyncHarness();
    const { campaign, oursId, otherIds } = await ambiguousCreateBehind(h, 20);
    let naivePage: number[] | null = null;
    const { reads, realList } = watchLists(h, async (type, offset, ids) => {
      if (type !== 'scheduled' || offset !== 0 || naivePage !== null) return;
      expect(ids).toEqual([...otherIds].reverse()); // M is the 21st: not on this page
      // Canceled between the two reads: they move to the unsent list and M moves up.
      for (const id of otherIds.slice(0, removed)) h.sim.store.messages.get(id)!.canceledAt = h.clock.now();
      naivePage = (await realList('conn_sandbox', { type: 'scheduled', limit: 20, offset: 20 })).list.map((item) => item.id);
    });

    const summary = await h.reconciler.reconcileOnce();

    // The page a plain `offset += 20` would have read next does not hold M either.
    expect(naivePage).not.toContain(oursId);
    expect(summary).toMatchObject({ adopted: 1, created: 0 });
    expect(h.sim.messages()).toHaveLength(21);
    expect((await getCampaign(h, campaign.id)).sync).toMatchObject({ state: 'synced', remoteId: String(oursId) });
    // The page after the first did not begin with an item already seen: the search stepped back.
    expect(reads.filter((r) => r.type === 'scheduled').map((r) => r.offset)).toEqual([0, 19, 0]);
  });

  it('costs no more pages than a single pass when nothing moves', async () => {
    h = await buildSyncHarness();
    const { oursId } = await ambiguousCreateBehind(h, 20);
    const { reads } = watchLists(h);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ adopted: 1, created: 0 });
    expect(h.sim.messages().map((m) => m.id)).toContain(oursId);
    // Scheduled: 21 recent items, two pages (the second overlaps the first by one); then one
    // page each of unsent and sent, as a single pass by `offset += 20` would read.
    expect(reads).toEqual([
      { type: 'scheduled', offset: 0 },
      { type: 'scheduled', offset: 19 },
      { type: 'unsent', offset: 0 },
      { type: 'sent', offset: 0 },
    ]);
  });

  it('proves absence with one page per list when the lists are short', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h);
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    expect(await h.reconciler.reconcileOnce()).toMatchObject({ ambiguous: 1 });
    h.sim.setFaults({});
    h.clock.advance(30_000);
    const { reads } = watchLists(h);

    expect(await h.reconciler.reconcileOnce()).toMatchObject({ created: 1, adopted: 0 });
    expect(reads.map((r) => r.type)).toEqual(['scheduled', 'unsent', 'sent']);
  });
});
