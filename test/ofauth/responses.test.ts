import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseDeleteResult, parseQueueStatus, parseStatsItem, parseStatsPage, parseUserList, parseUserListPage } from '../../src/ofauth/responses.ts';

/** Fixed by default so runs are reproducible; fast-check prints the seed of a failing run. */
const seed = Number(process.env.FC_SEED ?? 424_242);

const valueOf = <T>(result: { ok: true; value: T } | { ok: false; issues: string }): T => {
  if (!result.ok) throw new Error(result.issues);
  return result.value;
};

describe('documented variants', () => {
  test('queue status (§2.2): id as a numeric string, total -1 while unknown, unknown fields ignored', () => {
    expect(valueOf(parseQueueStatus({ id: '123', date: '2030-01-01T00:00:00Z', total: -1, isCouplePeopleMedia: false, extra: { a: 1 } }))).toEqual({
      id: 123,
      date: '2030-01-01T00:00:00Z',
      total: -1,
    });
    expect(parseQueueStatus({ date: 'x' }).ok).toBe(false);
    expect(parseQueueStatus({ id: 'abc' }).ok).toBe(false);
  });

  test('stats item (§2.3): price string or number, counts missing, free messages', () => {
    const base = { id: 9, text: '<p>hi</p>', fromUser: { id: 1, _view: 'm' }, media: [{}, {}], previews: [] };
    expect(valueOf(parseStatsItem({ ...base, price: '5.00', sentCount: 10, viewedCount: '4', purchasedCount: 1, queueId: '9' }))).toMatchObject({
      price: 5,
      sentCount: 10,
      viewedCount: 4,
      purchasedCount: 1,
      queueId: 9,
      mediaCount: 2,
    });
    expect(valueOf(parseStatsItem({ ...base, price: 12.5 })).price).toBe(12.5);
    expect(valueOf(parseStatsItem({ ...base, isFree: true }))).toMatchObject({ price: 0, purchasedCount: 0, sentCount: null, viewedCount: null });
    expect(valueOf(parseStatsItem({ id: 1 }))).toEqual({
      id: 1,
      queueId: null,
      text: '',
      date: null,
      createdAt: null,
      sentCount: null,
      viewedCount: null,
      purchasedCount: null,
      price: null,
      mediaCount: null,
      isCanceled: false,
      hasError: false,
      canUnsend: null,
      isFree: null,
    });
    expect(valueOf(parseStatsItem({ id: 1, price: 'n/a', sentCount: {}, date: 1_893_456_000 }))).toMatchObject({
      price: null,
      sentCount: null,
      date: '2030-01-01T00:00:00.000Z',
    });
  });

  test('pages: {list, hasMore}, a bare array, {items}, a {data} envelope', () => {
    const item = { id: 1, text: 't' };
    expect(valueOf(parseStatsPage({ list: [item], hasMore: true }, 20))).toMatchObject({ list: [{ id: 1 }], hasMore: true });
    expect(valueOf(parseStatsPage([item], 20)).hasMore).toBe(false);
    expect(valueOf(parseStatsPage([item, item], 2)).hasMore).toBe(true);
    expect(valueOf(parseStatsPage({ items: [item], hasMore: false }, 20)).list).toHaveLength(1);
    expect(valueOf(parseStatsPage({ data: { list: [item], hasMore: false } }, 20)).list).toHaveLength(1);
    expect(valueOf(parseStatsPage({ list: [] }, 20))).toEqual({ list: [], hasMore: false });
    expect(parseStatsPage('nope', 20).ok).toBe(false);
  });

  test('user lists (§3.9): string or number ids kept as given, object or array', () => {
    expect(valueOf(parseUserList({ id: 'fans', type: 'fans', name: 'Fans', usersCount: '12', sortList: [], users: [] }))).toEqual({
      id: 'fans',
      name: 'Fans',
      type: 'fans',
      usersCount: 12,
    });
    expect(valueOf(parseUserListPage([{ id: 3, name: 'VIP' }], 10))).toEqual({ list: [{ id: 3, name: 'VIP', type: null, usersCount: null }], hasMore: false });
    expect(valueOf(parseUserListPage({ list: [], hasMore: false, order: 'name' }, 10))).toEqual({ list: [], hasMore: false });
  });

  test('delete: {success, queue}, 204/{} means success, success:false kept, unreadable queue becomes null', () => {
    expect(valueOf(parseDeleteResult({ success: true, queue: { id: 5, isCanceled: true } }))).toMatchObject({ success: true, queue: { id: 5, isCanceled: true } });
    expect(valueOf(parseDeleteResult(null))).toEqual({ success: true, queue: null });
    expect(valueOf(parseDeleteResult({}))).toEqual({ success: true, queue: null });
    expect(valueOf(parseDeleteResult({ success: false }))).toEqual({ success: false, queue: null });
    expect(valueOf(parseDeleteResult({ success: true, queue: { nope: 1 } }))).toEqual({ success: true, queue: null });
  });
});

describe('property: any documented mix of shapes parses, and normalises the same way', () => {
  const count = fc.nat({ max: 100_000 });
  const numberish = (arb: fc.Arbitrary<number>) => fc.oneof(arb, arb.map(String));

  test('stats items', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            id: numberish(fc.integer({ min: 1, max: 2 ** 40 })),
            text: fc.string(),
            price: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 20_000 }).map((c) => c / 100), fc.integer({ min: 0, max: 20_000 }).map((c) => (c / 100).toFixed(2))),
            sentCount: fc.option(numberish(count), { nil: undefined }),
            viewedCount: fc.option(numberish(count), { nil: undefined }),
            isCanceled: fc.option(fc.boolean(), { nil: undefined }),
            junk: fc.anything(),
          },
          { requiredKeys: ['id'] },
        ),
        (raw) => {
          const item = valueOf(parseStatsItem(raw));
          expect(item.id).toBe(Number(raw.id));
          expect(item.price).toBe(raw.price === undefined ? null : Number(raw.price));
          expect(item.sentCount).toBe(raw.sentCount === undefined ? null : Number(raw.sentCount));
          expect(item.isCanceled).toBe(raw.isCanceled ?? false);
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  test('pages as object or bare array give the same list', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ id: fc.integer({ min: 1, max: 1e9 }), text: fc.string() }), { maxLength: 20 }), fc.boolean(), (items, hasMore) => {
        const fromObject = valueOf(parseStatsPage({ list: items, hasMore }, 20));
        const fromArray = valueOf(parseStatsPage(items, 20));
        expect(fromArray.list).toEqual(fromObject.list);
        expect(fromObject.hasMore).toBe(hasMore);
      }),
      { seed, numRuns: 100 },
    );
  });
});
