import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.ts';
import { campaignBody } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';

describe('token API', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('lets an admin limited to some connections grant only those', async () => {
    const limited = await issueToken(t.app, t.admin, { name: 'ops-a', role: 'admin', connectionIds: ['conn_a', 'conn_b'] });
    const post = (body: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/tokens', headers: limited.headers, payload: body });

    const unrestricted = await post({ name: 'escalate', role: 'admin' });
    const outside = await post({ name: 'other', role: 'marketer', connectionIds: ['conn_a', 'conn_z'] });
    const inside = await post({ name: 'alice', role: 'marketer', connectionIds: ['conn_b'] });

    expect(unrestricted.statusCode).toBe(403);
    expect(outside.statusCode).toBe(403);
    expect(outside.json().detail).toContain('conn_z');
    expect(inside.statusCode).toBe(201);
  });

  it('issues a token, returning its secret once', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: t.admin,
      payload: { name: 'alice@agency', role: 'marketer', connectionIds: ['conn_a', 'conn_a', 'conn_b'] },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^tok_/),
      name: 'alice@agency',
      role: 'marketer',
      connectionIds: ['conn_a', 'conn_b'],
      createdAt: new Date(t.clock.now()).toISOString(),
      secret: expect.stringMatching(/^fo_[A-Za-z0-9_-]{43}$/),
    });

    const listed = await t.app.inject({ method: 'GET', url: '/v1/tokens', headers: t.admin });
    expect(listed.statusCode).toBe(200);
    const { secret, ...withoutSecret } = body;
    expect(listed.json()).toEqual({ items: [withoutSecret] });
    expect(listed.body).not.toContain(secret);
  });

  it('stores only a hash of the secret', async () => {
    const { secret } = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer' });
    const dump = JSON.stringify(await t.rows.snapshot());
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(3));
    const [row] = await t.rows.query<{ secret_hash: string }>(sql`SELECT secret_hash FROM api_tokens`);
    expect(row!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('authenticates with an issued secret and refuses it once revoked', async () => {
    const bob = await issueToken(t.app, t.admin, { name: 'bob', role: 'admin' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/tokens', headers: bob.headers })).statusCode).toBe(200);

    const revoked = await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${bob.id}`, headers: t.admin });
    expect(revoked.statusCode).toBe(204);
    expect(revoked.body).toBe('');

    const after = await t.app.inject({ method: 'GET', url: '/v1/campaigns', headers: bob.headers });
    expect(after.statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/v1/tokens', headers: t.admin })).json().items).toEqual([]);
    // Revoking twice, or an unknown id, is a 404.
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${bob.id}`, headers: t.admin })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/tokens/tok_nope', headers: t.admin })).statusCode).toBe(404);
  });

  it('refuses to revoke the ADMIN_TOKEN from the environment', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/tokens/tok_env_admin', headers: t.admin });
    expect(res.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/v1/tokens', headers: t.admin })).statusCode).toBe(200);
  });

  it('lets an issued admin token manage tokens', async () => {
    const root = await issueToken(t.app, t.admin, { name: 'root', role: 'admin' });
    const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: root.headers, payload: { name: 'x', role: 'marketer' } });
    expect(res.statusCode).toBe(201);
  });

  it.each([
    ['POST', '/v1/tokens', { name: 'sneaky', role: 'admin' }],
    ['GET', '/v1/tokens', undefined],
    ['DELETE', '/v1/tokens/tok_env_admin', undefined],
  ] as const)('answers 403 to a marketer on %s %s, and writes nothing', async (method, url, payload) => {
    const marketer = await issueToken(t.app, t.admin, { name: 'm', role: 'marketer', connectionIds: ['conn_a'] });
    const before = await t.rows.snapshot();
    const res = await t.app.inject({ method, url, headers: marketer.headers, ...(payload ? { payload } : {}) });
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 403, code: 'forbidden' });
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it.each([
    ['an unknown role', { name: 'x', role: 'owner' }],
    ['a blank name', { name: ' ', role: 'marketer' }],
    ['an unknown field', { name: 'x', role: 'marketer', scopes: ['all'] }],
    ['a malformed connection id', { name: 'x', role: 'marketer', connectionIds: ['abc'] }],
    // An empty list once meant "every connection": a token meant to reach nothing reached all.
    ['an empty connectionIds list', { name: 'x', role: 'marketer', connectionIds: [] }],
  ])('rejects %s with 400 and writes nothing', async (_label, payload) => {
    const before = await t.rows.snapshot();
    const res = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: t.admin, payload });
    expect(res.statusCode).toBe(400);
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it('answers 401 to a missing, unknown or malformed bearer token', async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer fo_unknown' },
      { authorization: `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}` },
      { authorization: TEST_ADMIN_TOKEN },
      { authorization: `Bearer ${TEST_ADMIN_TOKEN}x` },
      { authorization: 'Bearer' },
    ];
    for (const headers of cases) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/tokens', headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
    }
  });

  it('accepts the bearer scheme in any case', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/tokens', headers: { authorization: `bearer ${TEST_ADMIN_TOKEN}` } });
    expect(res.statusCode).toBe(200);
  });

  it('gives a token restricted to no connection nothing (service level)', async () => {
    // The API refuses an empty list, but the service must not read one as "all" either.
    const { secret } = await t.services.tokens.issue({ name: 'nobody', role: 'marketer', connectionIds: [] });
    const headers = { authorization: `Bearer ${secret}` };
    await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: t.admin, payload: campaignBody(t.clock.now()) });
    expect((await t.app.inject({ method: 'GET', url: '/v1/campaigns', headers })).json().items).toEqual([]);
    const create = await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers, payload: campaignBody(t.clock.now()) });
    expect(create.statusCode).toBe(403);
  });
});
