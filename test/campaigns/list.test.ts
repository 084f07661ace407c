import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignStatus } from '../../src/campaigns/model.ts';
import { forceOneShot } from '../helpers/rows.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

const HOUR = 3_600_000;

interface Page {
  items: Array<{ id: string; status: string; connectionId: string; scheduledAt: string | null }>;
  nextCursor: string | null;
}

describe('GET /v1/campaigns', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const list = async (query: string): Promise<Page> => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns${query}`, headers: t.admin });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  /** Creates n campaigns through the API, one clock tick apart; returns their ids oldest first. */
  async function createMany(n: number, overrides: (i: number) => Record<string, unknown> = () => ({})): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      t.clock.advance(1);
      ids.push((await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), overrides(i)))).id);
    }
    return ids;
  }

  async function setStatus(id: string, status: CampaignStatus) {
    await forceOneShot(t.rows, id, status, {}, t.clock.now());
  }

  it('lists newest first with a default limit of 20', async () => {
    const ids = await createMany(25);
    const page = await list('');
    expect(page.items.map((c) => c.id)).toEqual(ids.slice().reverse().slice(0, 20));
    expect(page.nextCursor).not.toBeNull();
  });

  it('shows each campaign exactly as GET /v1/campaigns/:id does, every column filled', async () => {
    const [id] = await createMany(1);
    const at = t.clock.now();
    await forceOneShot(t.rows, id!, 'sent', {
      reason: 'none really',
      remoteId: 'mm_9',
      syncedRevision: 1,
      syncState: 'synced',
      attempts: 2,
      lastError: 'timeout',
      nextAttemptAt: at + 1,
      lastSyncedAt: at + 2,
      sentAt: at + 3,
      sentCount: 10,
      viewedCount: 5,
      purchasedCount: 1,
      statsObservedAt: at + 4,
    }, at);
    const one = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${id}`, headers: t.admin });
    expect(one.json()).toMatchObject({ stats: { sentCount: 10 }, sync: { lastError: 'timeout' }, failureReason: 'none really' });
    expect((await list('')).items).toEqual([one.json()]);
  });

  it('rejects an unknown query parameter instead of ignoring a misspelt filter', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/campaigns?stauts=draft', headers: t.admin });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain('stauts');
  });

  it('returns an empty page with no cursor when there is nothing', async () => {
    expect(await list('')).toEqual({ items: [], nextCursor: null });
  });

  it('gives no cursor when the last page is exactly full', async () => {
    await createMany(3);
    expect((await list('?limit=3')).nextCursor).toBeNull();
  });

  it.each(['0', '101', '-1', '1.5', 'abc', ''])('rejects limit=%s with 400', async (limit) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns?limit=${limit}`, headers: t.admin });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('querystring/limit');
  });

  it('accepts limit 1 and 100', async () => {
    await createMany(2);
    expect((await list('?limit=1')).items).toHaveLength(1);
    expect((await list('?limit=100')).items).toHaveLength(2);
  });

  it('filters by one or several statuses', async () => {
    const ids = await createMany(4);
    await setStatus(ids[0]!, 'queued');
    await setStatus(ids[1]!, 'sent');
    await setStatus(ids[2]!, 'draft');
    expect((await list('?status=queued')).items.map((c) => c.id)).toEqual([ids[0]]);
    expect((await list('?status=sent&status=queued')).items.map((c) => c.id)).toEqual([ids[1], ids[0]]);
    expect((await list('?status=canceled')).items).toEqual([]);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/campaigns?status=done', headers: t.admin });
    expect(bad.statusCode).toBe(400);
  });

  it('filters by connectionId', async () => {
    const ids = await createMany(4, (i) => ({ connectionId: i % 2 === 0 ? 'conn_a' : 'conn_b' }));
    expect((await list('?connectionId=conn_b')).items.map((c) => c.id)).toEqual([ids[3], ids[1]]);
  });

  it('filters by scheduledFrom and scheduledTo, both inclusive, ignoring campaigns without a time', async () => {
    const base = t.clock.now();
    const at = (h: number) => new Date(base + h * HOUR).toISOString();
    const ids = await createMany(4, (i) => ({ scheduledAt: i === 3 ? null : at(i + 1) }));
    const window = await list(`?scheduledFrom=${encodeURIComponent(at(2))}&scheduledTo=${encodeURIComponent(at(3))}`);
    expect(window.items.map((c) => c.id)).toEqual([ids[2], ids[1]]);
    expect((await list(`?scheduledFrom=${encodeURIComponent(at(3))}`)).items.map((c) => c.id)).toEqual([ids[2]]);
    expect((await list(`?scheduledTo=${encodeURIComponent(at(1))}`)).items.map((c) => c.id)).toEqual([ids[0]]);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/campaigns?scheduledFrom=tomorrow', headers: t.admin });
    expect(bad.statusCode).toBe(400);
  });

  it('combines filters with the cursor', async () => {
    const ids = await createMany(9, (i) => ({ connectionId: i % 3 === 0 ? 'conn_a' : 'conn_b' }));
    const first = await list('?connectionId=conn_a&limit=2');
    const second = await list(`?connectionId=conn_a&limit=2&cursor=${first.nextCursor}`);
    expect([...first.items, ...second.items].map((c) => c.id)).toEqual([ids[6], ids[3], ids[0]]);
    expect(second.nextCursor).toBeNull();
  });

  it('keeps the keyset cursor exact while campaigns are inserted between pages', async () => {
    const original = await createMany(25);
    const seen: string[] = [];
    let page = await list('?limit=10');
    seen.push(...page.items.map((c) => c.id));
    let round = 0;
    while (page.nextCursor) {
      // New campaigns arrive between every pair of pages, some in the same millisecond.
      await createMany(3);
      if (round++ % 2 === 0) await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
      page = await list(`?limit=10&cursor=${page.nextCursor}`);
      seen.push(...page.items.map((c) => c.id));
    }
    expect(seen).toEqual(original.slice().reverse());
  });

  it('keeps the cursor exact when a campaign on an earlier page is deleted', async () => {
    const ids = await createMany(6, () => ({ status: 'draft' }));
    const first = await list('?limit=3');
    const lastOnFirst = first.items.at(-1)!.id;
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/campaigns/${lastOnFirst}`, headers: t.admin })).statusCode).toBe(204);
    const second = await list(`?limit=3&cursor=${first.nextCursor}`);
    expect(second.items.map((c) => c.id)).toEqual([ids[2], ids[1], ids[0]]);
  });

  it('treats a status repeated many times as one filter', async () => {
    const ids = await createMany(2);
    await forceOneShot(t.rows, ids[0]!, 'sent', {}, t.clock.now());
    const query = Array.from({ length: 500 }, () => 'status=sent').join('&');
    expect((await list(`?${query}`)).items.map((c) => c.id)).toEqual([ids[0]]);
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['a valid-looking base64 of something else', Buffer.from('DROP TABLE campaigns').toString('base64url')],
    ['an event cursor', Buffer.from('12').toString('base64url')],
  ])('rejects %s as a cursor with 400', async (_label, cursor) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns?cursor=${cursor}`, headers: t.admin });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('querystring/cursor');
  });
});
