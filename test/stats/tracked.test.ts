import { describe, expect, it } from 'vitest';
import type { StatsType } from '../../src/ofauth/schemas.ts';
import { LIST_ORDER, listsFor, REFRESH_AFTER_MS, summarizeUnseen } from '../../src/stats/plan.ts';
import { indexTracked, loadTracked, type TrackedIndex } from '../../src/stats/tracked.ts';
import type { TrackedPage, TrackedSend } from '../../src/store/types.ts';

const NOW = Date.UTC(2030, 0, 1, 12);

/** A small deterministic PRNG, so a failure reproduces. */
function prng(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

function randomSends(count: number, random: () => number): TrackedSend[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const status = pick(['queued', 'sending', 'canceled', 'sent'] as const);
    const seenAt = random() < 0.3 ? null : NOW - Math.floor(random() * 2 * REFRESH_AFTER_MS);
    return {
      id: `snd_${String(Math.floor(random() * 1e9)).padStart(9, '0')}${String(i).padStart(5, '0')}`,
      status,
      remoteId: String(1_000_000 + i),
      remoteList: seenAt === null ? null : pick([null, ...LIST_ORDER]),
      remoteSeenAt: seenAt,
      remoteMissingAt: random() < 0.1 ? NOW - 60_000 : null,
      createdAt: NOW - Math.floor(random() * 7 * 86_400_000),
    };
  });
}

describe('the tracked index', () => {
  it('answers the stop rule exactly as the candidates would, as sends are seen in any order', () => {
    const random = prng(7);
    const sends = randomSends(400, random); // ids in random order: the index sorts them itself
    const seenBefore = sends.slice(0, 40).map((s) => s.id).sort();
    const index = indexTracked(sends, seenBefore);
    const seen = new Set(seenBefore);
    const expected = (type: StatsType) => summarizeUnseen(sends.filter((s) => !seen.has(s.id) && listsFor(s).includes(type)));

    expect(index.size).toBe(400);
    for (const s of [...sends].sort(() => random() - 0.5)) {
      for (const type of LIST_ORDER) expect(index.unseen(type)).toEqual(expected(type));
      const i = index.indexOf(s.id);
      expect(index.id(i)).toBe(s.id);
      expect(index.remoteId(i)).toBe(s.remoteId);
      expect(index.facts(i)).toEqual({ status: s.status, remoteList: s.remoteList, remoteSeenAt: s.remoteSeenAt, remoteMissingAt: s.remoteMissingAt, createdAt: s.createdAt });
      index.markSeen(i);
      index.markSeen(i); // twice is once
      seen.add(s.id);
    }
    for (const type of LIST_ORDER) expect(index.unseen(type)).toEqual({ count: 0, lowestFloor: Infinity, earliestMustFind: Infinity });
    expect(index.seenIds()).toEqual(sends.map((s) => s.id).sort());
  });

  it('builds the same index from store pages, asking after the last id until a short page', async () => {
    const random = prng(3);
    const sends = randomSends(23, random).sort((a, b) => (a.id < b.id ? -1 : 1));
    const asked: TrackedPage[] = [];
    // The store's contract, over an array: id order, keyset after afterId, at most limit.
    const stats = {
      async tracked(_connectionId: string, _since: number, page: TrackedPage) {
        asked.push(page);
        return sends.filter((s) => page.afterId === null || s.id > page.afterId).slice(0, page.limit);
      },
    };
    const seenBefore = [sends[4]!.id, sends[17]!.id];
    const paged = await loadTracked(stats, 'conn_a', NOW, { seenBefore, pageSize: 5 });
    expect(asked).toEqual([null, 4, 9, 14, 19].map((k) => ({ afterId: k === null ? null : sends[k]!.id, limit: 5 })));

    const whole = indexTracked(sends, seenBefore);
    const view = (index: TrackedIndex) => ({
      size: index.size,
      rows: sends.map((s) => {
        const i = index.indexOf(s.id);
        return { i, id: index.id(i), remoteId: index.remoteId(i), facts: index.facts(i), seen: index.isSeen(i) };
      }),
      unseen: LIST_ORDER.map((type) => index.unseen(type)),
      seenIds: index.seenIds(),
    });
    expect(view(paged)).toEqual(view(whole));
    expect(paged.seenIds()).toEqual([...seenBefore].sort());

    // A page size that divides the count ends on an empty page.
    asked.length = 0;
    expect((await loadTracked(stats, 'conn_a', NOW, { pageSize: 23 })).size).toBe(23);
    expect(asked.map((p) => p.afterId)).toEqual([null, sends[22]!.id]);
  });

  it('knows only the sends it was given', () => {
    const index = indexTracked(randomSends(10, prng(1)));
    expect(index.indexOf('snd_unknown')).toBe(-1);
    expect(indexTracked([]).unseen('sent')).toEqual({ count: 0, lowestFloor: Infinity, earliestMustFind: Infinity });
  });
});
