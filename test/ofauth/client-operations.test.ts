import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import type { EndpointFamily } from '../../src/ofauth/endpoints.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { clientFor, manualTime, scheduledBody } from './support.ts';

const families: EndpointFamily[] = ['queue', 'mass-messages'];

describe.each(families)('every operation over the %s family', (family) => {
  let t: ReturnType<typeof manualTime>;
  let sim: StartedSimulator;
  let client: OfauthClient;
  let conn: string;

  beforeEach(async () => {
    t = manualTime();
    sim = await startSimulator({ clock: t.clock, sendDurationMs: 60_000, unsendWindowMs: 300_000 });
    client = clientFor(sim, { endpoints: family, clock: t.clock, sleep: t.sleep });
    conn = sim.connectionId;
  });
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  const routePrefix = family === 'queue' ? '/v2/access/messages/queue' : '/v2/access/mass-messages';

  test('create (scheduled), get, list, update, delete: the whole round trip on the right paths', async () => {
    const created = await client.createMassMessage(conn, scheduledBody(t.clock, 3_600_000, { price: 5, mediaItems: [11, '12'], previewMediaCount: 1 }));
    expect(created).toMatchObject({ date: new Date(t.clock.now() + 3_600_000).toISOString(), isDone: false, total: 1175, pending: 1175 });
    expect(typeof created.id).toBe('number');

    const one = await client.getMassMessage(conn, created.id);
    expect(one).toMatchObject({ id: created.id, queueId: created.id, text: '<p>Hello **fans**</p>', price: 5, mediaCount: 2, isCanceled: false, isFree: false });
    // The documented single-message shape carries no counts.
    expect(one.sentCount).toBeNull();

    const scheduled = await client.listMassMessages(conn, { type: 'scheduled' });
    expect(scheduled).toEqual({ list: [expect.objectContaining({ id: created.id, sentCount: 0, price: 5 })], hasMore: false });

    const updated = await client.updateMassMessage(conn, created.id, scheduledBody(t.clock, 7_200_000, { text: 'Changed', isMarkdown: false, userIds: [7, 8] }));
    expect(updated.id).toBe(created.id);
    expect(updated.total).toBe(1177);
    expect((await client.getMassMessage(conn, created.id)).text).toBe('Changed');

    const deleted = await client.deleteMassMessage(conn, String(created.id));
    expect(deleted.success).toBe(true);
    expect(deleted.queue).toMatchObject({ id: created.id, isCanceled: true });
    expect((await client.listMassMessages(conn, { type: 'unsent' })).list.map((m) => m.id)).toEqual([created.id]);

    const counts = sim.requestCounts();
    for (const key of [`POST ${routePrefix} 200`, `GET ${routePrefix}/:id 200`, `PUT ${routePrefix}/:id 200`, `DELETE ${routePrefix}/:id 200`]) {
      expect(counts[key], key).toBeGreaterThan(0);
    }
    const listRoute = family === 'queue' ? '/v2/access/messages/queue/stats' : '/v2/access/mass-messages';
    expect(counts[`GET ${listRoute} 200`]).toBe(2);
    expect(sim.messages()[0]).toMatchObject({ createdVia: family, state: 'canceled', updates: 1 });
  });

  test('lifecycle: scheduled → sending → sent with growing counts, then unsend within the window', async () => {
    const created = await client.createMassMessage(conn, scheduledBody(t.clock, 60_000, { price: 10, mediaItems: [1] }));
    const typeOf = async () => {
      for (const type of ['scheduled', 'unsent', 'sent'] as const) {
        const page = await client.listMassMessages(conn, { type });
        const item = page.list.find((m) => m.id === created.id);
        if (item) return { type, item };
      }
      throw new Error('message in no list');
    };
    expect((await typeOf()).type).toBe('scheduled');
    t.clock.advance(90_000); // 30 s into a 60 s send
    const sending = await typeOf();
    expect(sending.type).toBe('unsent');
    expect(sending.item.sentCount).toBe(Math.floor(1175 / 2));
    t.clock.advance(60_000);
    const sent = await typeOf();
    expect(sent.type).toBe('sent');
    expect(sent.item).toMatchObject({ sentCount: 1175, canUnsend: true, isCanceled: false });
    t.clock.advance(3_600_000);
    const later = (await typeOf()).item;
    expect(later.viewedCount).toBeGreaterThan(sent.item.viewedCount ?? 0);
    expect(later.purchasedCount).toBeGreaterThanOrEqual(sent.item.purchasedCount ?? 0);
    expect(later.canUnsend).toBe(false);
    await expect(client.deleteMassMessage(conn, created.id)).rejects.toMatchObject({ kind: 'invalid', status: 400 });
  });

  test('delete of a freshly sent message unsends it; it stays under sent, flagged canceled', async () => {
    const created = await client.createMassMessage(conn, { text: 'now', userIds: [1, 2, 3] });
    t.clock.advance(61_000);
    const result = await client.deleteMassMessage(conn, created.id);
    expect(result.queue).toMatchObject({ id: created.id, isCanceled: true, sentCount: 3 });
    const sent = await client.listMassMessages(conn, { type: 'sent' });
    expect(sent.list).toEqual([expect.objectContaining({ id: created.id, isCanceled: true })]);
  });

  test('stats pages: at most 20, newest first, hasMore, offset paging', async () => {
    for (let i = 0; i < 25; i += 1) {
      await client.createMassMessage(conn, scheduledBody(t.clock, 3_600_000, { text: `m${i}` }));
      t.clock.advance(1000);
    }
    const first = await client.listMassMessages(conn, { type: 'scheduled', limit: 50 });
    expect(first.list).toHaveLength(20);
    expect(first.hasMore).toBe(true);
    expect(first.list[0]?.text).toBe('<p>m24</p>');
    const second = await client.listMassMessages(conn, { type: 'scheduled', offset: 20 });
    expect(second.list.map((m) => m.text)).toEqual(['<p>m4</p>', '<p>m3</p>', '<p>m2</p>', '<p>m1</p>', '<p>m0</p>']);
    expect(second.hasMore).toBe(false);
  });

  test('user lists: page, search, one list, unknown list', async () => {
    const page = await client.listUserLists(conn);
    expect(page.list.map((l) => l.name)).toEqual(['Fans', 'Following', 'VIP', 'Muted']);
    expect(page.hasMore).toBe(false);
    expect(await client.listUserLists(conn, { query: 'vi' })).toEqual({ list: [{ id: 3, name: 'VIP', type: 'custom', usersCount: 5 }], hasMore: false });
    const paged = await client.listUserLists(conn, { limit: 3, offset: 0 });
    expect(paged).toMatchObject({ hasMore: true });
    expect(await client.getUserList(conn, 1)).toEqual({ id: 1, name: 'Fans', type: 'custom', usersCount: 1200 });
    await expect(client.getUserList(conn, 99)).rejects.toMatchObject({ kind: 'invalid', status: 404, code: 'RESOURCE_NOT_FOUND' });
  });
});

describe('lenient parsing over the wire', () => {
  test('bare arrays, ids and counts as strings, price as a number, counts missing', async () => {
    const t = manualTime();
    const sim = await startSimulator({ clock: t.clock, quirks: { bareArrays: true, numbersAsStrings: true, priceAsNumber: true } });
    const client = clientFor(sim, { clock: t.clock, sleep: t.sleep });
    try {
      const created = await client.createMassMessage(sim.connectionId, { text: 'x', userIds: [1, 2], price: 3.5, mediaItems: [5] });
      expect(typeof created.id).toBe('number');
      t.clock.advance(120_000);
      const page = await client.listMassMessages(sim.connectionId, { type: 'sent', limit: 2 });
      expect(page).toEqual({ list: [expect.objectContaining({ id: created.id, queueId: created.id, sentCount: 2, price: 3.5, mediaCount: 1 })], hasMore: false });
      const lists = await client.listUserLists(sim.connectionId, { limit: 2 });
      expect(lists.list).toHaveLength(2);
      expect(lists.hasMore).toBe(true); // a full bare page may have more
      expect(lists.list[0]?.usersCount).toBe(1200);

      sim.reset();
      const quiet = await startSimulator({ clock: t.clock, quirks: { omitCounts: true } });
      const quietClient = clientFor(quiet, { clock: t.clock, sleep: t.sleep });
      await quietClient.createMassMessage(quiet.connectionId, { text: 'y', userIds: [1] });
      const items = (await quietClient.listMassMessages(quiet.connectionId, { type: 'unsent' })).list;
      expect(items[0]).toMatchObject({ sentCount: null, viewedCount: null, purchasedCount: 0, price: 0, isFree: true });
      await quietClient.close();
      await quiet.close();
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
