import { request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { parseChatPage } from '../../src/ofauth/responses.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

const sims: StartedSimulator[] = [];
afterEach(async () => {
  for (const sim of sims.splice(0)) await sim.close();
});

async function start(options: SimulatorOptions = {}) {
  const sim = await startSimulator({ clock: new ManualClock(), ...options });
  sims.push(sim);
  return sim;
}

async function get(sim: StartedSimulator, path: string) {
  const response = await request(`${sim.url}${path}`, { headers: { apikey: sim.apiKey, 'x-connection-id': sim.connectionId } });
  return { status: response.statusCode, json: (await response.body.json()) as Record<string, any> };
}

const fansOf = (json: Record<string, any>) => (json.list as Array<{ withUser: { id: number } }>).map((c) => c.withUser.id);

describe('simulator: GET /v2/access/chats', () => {
  test('the sandbox has a few chats in each filter, the fan given only as withUser.id', async () => {
    const sim = await start();
    expect(fansOf((await get(sim, '/v2/access/chats?filter=priority')).json)).toEqual([101, 102, 201].sort((a, b) => b - a));
    expect(fansOf((await get(sim, '/v2/access/chats?filter=unread')).json).sort()).toEqual([102, 103, 202, 205]);
    expect(fansOf((await get(sim, '/v2/access/chats?filter=who_tipped')).json).sort()).toEqual([101, 104, 202, 203]);
    const all = await get(sim, '/v2/access/chats?limit=20');
    expect(all.json.list).toHaveLength(9);
    expect(all.json.list[0]).toEqual({ withUser: { id: 205, _view: 's' }, canSendMessage: true, unreadMessagesCount: 1, hasUnreadTips: false, isMutedNotifications: false });
  });

  test('pages by limit and offset, most recent activity first, with hasMore and nextOffset; old reverses it', async () => {
    const chats = Array.from({ length: 25 }, (_, i) => ({ fanId: i + 1, priority: true, lastActivityAt: 1_000 + i }));
    const sim = await start({ connections: [{ id: 'conn_sandbox', chats }] });

    const first = await get(sim, '/v2/access/chats?filter=priority&limit=20');
    expect(first.json).toMatchObject({ hasMore: true, nextOffset: 20 });
    expect(fansOf(first.json)).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
    const second = await get(sim, '/v2/access/chats?filter=priority&limit=20&offset=20');
    expect(second.json.hasMore).toBe(false);
    expect(second.json.nextOffset).toBeUndefined();
    expect(fansOf(second.json)).toEqual([5, 4, 3, 2, 1]);
    expect(fansOf((await get(sim, '/v2/access/chats?order=old&limit=3')).json)).toEqual([1, 2, 3]);
  });

  test('filters by user list (its members), and refuses a bad limit, filter or order with 400 BAD_REQUEST', async () => {
    const sim = await start();
    expect(fansOf((await get(sim, '/v2/access/chats?userListId=3&limit=20')).json).sort()).toEqual([101, 102, 103, 104]);
    expect(fansOf((await get(sim, '/v2/access/chats?userListId=3&filter=unread')).json).sort()).toEqual([102, 103]);
    for (const query of ['limit=21', 'limit=0', 'filter=vip', 'order=newest', 'offset=-1']) {
      const res = await get(sim, `/v2/access/chats?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.type, query).toBe('BAD_REQUEST');
    }
  });

  test('seeded faults reach it, and /__sim/chats shows and adds chats', async () => {
    const sim = await start({ faults: { seed: 7, serverErrorBeforeCommit: 1 } });
    expect((await get(sim, '/v2/access/chats')).status).toBe(500);
    sim.setFaults({});

    const added = await request(`${sim.url}/__sim/chats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ connectionId: 'conn_sandbox', chats: [{ fanId: 900, tipped: true }] }),
    });
    expect(added.statusCode).toBe(200);
    const listed = (await (await request(`${sim.url}/__sim/chats?connectionId=conn_sandbox`)).body.json()) as { chats: Array<{ fanId: number; tipped: boolean }> };
    expect(listed.chats.find((c) => c.fanId === 900)).toMatchObject({ fanId: 900, tipped: true, priority: false, unread: false });
    expect(fansOf((await get(sim, '/v2/access/chats?filter=who_tipped&limit=20')).json)).toContain(900);
    expect((await request(`${sim.url}/__sim/chats?connectionId=conn_nope`)).statusCode).toBe(400);
  });
});

describe('client: listChats', () => {
  test('reads a page through the simulator, bare arrays included', async () => {
    const sim = await start({ quirks: { bareArrays: true } });
    const client = fastClientFor(sim);
    try {
      const page = await client.listChats(sim.connectionId, { filter: 'priority', limit: 2 });
      expect(page).toEqual({ list: [{ fanId: 201 }, { fanId: 102 }], hasMore: true, nextOffset: null });
    } finally {
      await client.close();
    }
  });

  test('parses leniently: numeric-string ids, nextOffset, items, and chats without a fan dropped', () => {
    expect(parseChatPage({ list: [{ withUser: { id: '42' } }, { withUser: { id: 7, _view: 's' } }, { lastMessage: {} }], hasMore: true, nextOffset: 3 }, 20)).toEqual({
      ok: true,
      value: { list: [{ fanId: 42 }, { fanId: 7 }], hasMore: true, nextOffset: 3 },
    });
    expect(parseChatPage({ items: [{ withUser: { id: 1 } }] }, 1)).toEqual({ ok: true, value: { list: [{ fanId: 1 }], hasMore: true, nextOffset: null } });
    expect(parseChatPage('nope', 20).ok).toBe(false);
  });
});
