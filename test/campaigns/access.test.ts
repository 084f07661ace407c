import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { issueToken, type IssuedToken } from '../helpers/tokens.ts';

/** A marketer scoped to some connections sees and changes only their campaigns. */
describe('campaign access by connection', () => {
  let t: TestApp;
  let alice: IssuedToken;
  let ownId: string;
  let foreignId: string;

  beforeEach(async () => {
    t = await buildTestApp();
    alice = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer', connectionIds: ['conn_a'] });
    ownId = (await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { connectionId: 'conn_a', status: 'draft' }))).id;
    foreignId = (await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { connectionId: 'conn_b', status: 'draft' }))).id;
  });
  afterEach(async () => {
    await t.close();
  });

  const requests = (id: string) => [
    { method: 'GET' as const, url: `/v1/campaigns/${id}` },
    { method: 'GET' as const, url: `/v1/campaigns/${id}/events` },
    { method: 'PATCH' as const, url: `/v1/campaigns/${id}`, payload: { name: 'mine now' } },
    { method: 'POST' as const, url: `/v1/campaigns/${id}/schedule` },
    { method: 'POST' as const, url: `/v1/campaigns/${id}/cancel` },
    { method: 'DELETE' as const, url: `/v1/campaigns/${id}` },
  ];

  it.each(requests('ID').map((r) => [`${r.method} ${r.url}`, r] as const))(
    '%s on another connection answers exactly like an unknown id, and writes nothing',
    async (_label, template) => {
      const unknownId = 'cmp_00000000000000000000000000';
      const as = (id: string) => ({ ...template, url: template.url.replace('ID', id), headers: alice.headers });
      const before = await t.rows.snapshot();
      const foreign = await t.app.inject(as(foreignId));
      const unknown = await t.app.inject(as(unknownId));
      expect(foreign.statusCode).toBe(404);
      expect(foreign.json()).toEqual({ ...unknown.json(), detail: unknown.json().detail.replace(unknownId, foreignId) });
      expect(await t.rows.snapshot()).toEqual(before);
    },
  );

  it.each(requests('ID').map((r) => [`${r.method} ${r.url}`, r] as const))('%s on its own connection works', async (_label, template) => {
    const res = await t.app.inject({ ...template, url: template.url.replace('ID', ownId), headers: alice.headers });
    expect(res.statusCode, res.body).toBeLessThan(300);
  });

  it('lists only campaigns of its connections, even when filtering on another', async () => {
    const mine = await t.app.inject({ method: 'GET', url: '/v1/campaigns', headers: alice.headers });
    expect(mine.json().items.map((c: { id: string }) => c.id)).toEqual([ownId]);
    const other = await t.app.inject({ method: 'GET', url: '/v1/campaigns?connectionId=conn_b', headers: alice.headers });
    expect(other.statusCode).toBe(200);
    expect(other.json()).toEqual({ items: [], nextCursor: null });
  });

  it('answers 403 to a create on another connection, and writes nothing', async () => {
    const before = await t.rows.snapshot();
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { ...alice.headers, 'idempotency-key': 'k1' },
      payload: campaignBody(t.clock.now(), { connectionId: 'conn_b' }),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ status: 403, code: 'forbidden' });
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it('records the token name as creator and actor', async () => {
    const created = await createCampaign(t.app, alice.headers, campaignBody(t.clock.now(), { connectionId: 'conn_a' }));
    expect(created.createdBy).toBe('alice');
    const events = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${created.id}/events`, headers: alice.headers });
    expect(events.json().items[0]).toMatchObject({ type: 'created', actor: 'alice' });
  });

  it('lets a marketer without connectionIds reach every connection', async () => {
    const everyone = await issueToken(t.app, t.admin, { name: 'lead', role: 'marketer' });
    const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${foreignId}`, headers: everyone.headers });
    expect(res.statusCode).toBe(200);
    const listed = await t.app.inject({ method: 'GET', url: '/v1/campaigns', headers: everyone.headers });
    expect(listed.json().items).toHaveLength(2);
  });
});
