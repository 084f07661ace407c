import { afterEach, describe, expect, it } from 'vitest';
import { CHECK_BACKOFF_MS } from '../../src/audience/list-catalog.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { issueToken } from '../helpers/tokens.ts';
import { createSimCampaign, simCampaignBody } from '../sync/support.ts';

const LISTS_ROUTE = 'GET /v2/access/users/lists 200';
const MINUTE = 60_000;

describe('connections and their OFAuth lists', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  const listsOf = (connectionId: string, headers: Record<string, string> = h.admin) =>
    h.app.inject({ method: 'GET', url: `/v1/connections/${connectionId}/lists`, headers });

  it('lists the connections Fanout has seen, with pause state, last success and queued sends, in the caller\'s scope', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h);
    await h.store.connections.pause('conn_other', 'OFAuth refused the connection: 401 SESSION_EXPIRED', h.clock.now());
    await h.reconciler.reconcileOnce();

    const all = await h.app.inject({ method: 'GET', url: '/v1/connections', headers: h.admin });

    expect(all.statusCode).toBe(200);
    expect(all.json().items).toEqual([
      { id: 'conn_other', isPaused: true, pausedAt: new Date(h.clock.now()).toISOString(), pauseReason: 'OFAuth refused the connection: 401 SESSION_EXPIRED', lastSuccessAt: null, campaigns: 0, sendsQueued: 0 },
      { id: 'conn_sandbox', isPaused: false, pausedAt: null, pauseReason: null, lastSuccessAt: new Date(h.clock.now()).toISOString(), campaigns: 1, sendsQueued: 1 },
    ]);
    const marketer = await issueToken(h.app, h.admin, { name: 'm', role: 'marketer', connectionIds: ['conn_other'] });
    const scoped = await h.app.inject({ method: 'GET', url: '/v1/connections', headers: marketer.headers });
    expect(scoped.json().items.map((c: { id: string }) => c.id)).toEqual(['conn_other']);
  });

  it("answers OFAuth's lists with names and sizes, from the cache until LISTS_CACHE_TTL has passed", async () => {
    h = await buildSyncHarness({ env: { LISTS_CACHE_TTL: '10m' } });

    const first = await listsOf('conn_sandbox');

    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({
      items: [
        { id: 1, name: 'Fans', size: 1200, type: expect.anything() },
        { id: 2, name: 'Following', size: 300, type: expect.anything() },
        { id: 3, name: 'VIP', size: 5, type: expect.anything() },
        { id: 4, name: 'Muted', size: 25, type: expect.anything() },
      ],
      readAt: new Date(h.clock.now()).toISOString(),
    });
    h.clock.advance(10 * MINUTE - 1);
    expect((await listsOf('conn_sandbox')).json().readAt).toBe(first.json().readAt);
    expect(h.sim.requestCounts()[LISTS_ROUTE]).toBe(1);

    h.clock.advance(1);
    const refreshed = await listsOf('conn_sandbox');
    expect(refreshed.json().readAt).toBe(new Date(h.clock.now()).toISOString());
    expect(h.sim.requestCounts()[LISTS_ROUTE]).toBe(2);
  });

  it('answers 502 when OFAuth cannot be read, caches nothing, and 404 for a connection outside the scope', async () => {
    h = await buildSyncHarness();
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    const failed = await listsOf('conn_sandbox');
    expect(failed.statusCode).toBe(502);
    expect(failed.headers['content-type']).toContain('application/problem+json');
    expect(failed.json()).toMatchObject({ status: 502, code: 'ofauth_unavailable' });
    expect(failed.body).not.toContain(h.sim.apiKey);

    h.sim.setFaults({});
    expect((await listsOf('conn_sandbox')).statusCode).toBe(200);
    const marketer = await issueToken(h.app, h.admin, { name: 'm', role: 'marketer', connectionIds: ['conn_other'] });
    expect((await listsOf('conn_sandbox', marketer.headers)).statusCode).toBe(404);
  });
});

describe('list ids checked against OFAuth', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  const create = (body: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/v1/campaigns', headers: h.admin, payload: body });

  it('refuses a create naming a list OFAuth does not have, naming the list, storing nothing', async () => {
    h = await buildSyncHarness();
    const before = await h.rows.snapshot();

    const res = await create(simCampaignBody(h.clock.now(), { audience: { userLists: [1, 77], excludeUserLists: [88] } }));

    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().errors).toEqual([
      { path: 'body/audience/userLists', message: 'OFAuth has no list 77 on connection conn_sandbox' },
      { path: 'body/audience/excludeUserLists', message: 'OFAuth has no list 88 on connection conn_sandbox' },
    ]);
    expect(await h.rows.snapshot()).toEqual(before);
  });

  it('refuses a PATCH to an unknown list and leaves the campaign as it was; known lists pass, from the cache', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    const before = await h.rows.snapshot();

    const res = await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaign.id}`, headers: h.admin, payload: { audience: { userLists: [2, 404] } } });

    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([{ path: 'body/audience/userLists', message: 'OFAuth has no list 404 on connection conn_sandbox' }]);
    expect(await h.rows.snapshot()).toEqual(before);
    const ok = await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaign.id}`, headers: h.admin, payload: { audience: { userLists: [2] } } });
    expect(ok.statusCode).toBe(200);
    expect(h.sim.requestCounts()[LISTS_ROUTE]).toBe(1);
  });

  it('accepts the lists unchecked when OFAuth answers an error, or the connection is paused (without asking it)', async () => {
    h = await buildSyncHarness();
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    expect((await create(simCampaignBody(h.clock.now(), { audience: { userLists: [77] } }))).statusCode).toBe(201);
    h.sim.setFaults({});
    // Past the backoff after that failure: only the pause keeps OFAuth from being asked now.
    h.clock.advance(CHECK_BACKOFF_MS);

    await h.store.connections.pause('conn_sandbox', 'OFAuth refused the connection', h.clock.now());
    const countsBefore = h.sim.requestCounts();
    expect((await create(simCampaignBody(h.clock.now(), { audience: { userLists: [78] } }))).statusCode).toBe(201);
    expect(h.sim.requestCounts()).toEqual(countsBefore);
    expect((await h.rows.rowCounts()).campaigns).toBe(2);
  });

  it('after a failed read, accepts without asking OFAuth for CHECK_BACKOFF_MS, then checks again', async () => {
    h = await buildSyncHarness();
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    expect((await create(simCampaignBody(h.clock.now(), { audience: { userLists: [77] } }))).statusCode).toBe(201);
    h.sim.setFaults({});
    const countsBefore = h.sim.requestCounts();

    expect((await create(simCampaignBody(h.clock.now(), { audience: { userLists: [77] } }))).statusCode).toBe(201);
    expect(h.sim.requestCounts()).toEqual(countsBefore);

    h.clock.advance(CHECK_BACKOFF_MS);
    expect((await create(simCampaignBody(h.clock.now(), { audience: { userLists: [77] } }))).statusCode).toBe(400);
    expect(h.sim.requestCounts()[LISTS_ROUTE]).toBe(1);
  });
});
