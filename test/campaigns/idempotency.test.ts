import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TTL_MS } from '../../src/campaigns/idempotency.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';

describe('Idempotency-Key on POST /v1/campaigns', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (key: string | undefined, payload: object, headers: Record<string, string> = t.admin) =>
    t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: { ...headers, ...(key ? { 'idempotency-key': key } : {}) }, payload });
  const campaignCount = async () => (await t.rows.rowCounts()).campaigns;

  it('returns the first response for the same key and body, creating nothing more', async () => {
    const body = campaignBody(t.clock.now());
    const first = await post('key-1', body);
    expect(first.statusCode).toBe(201);
    t.clock.advance(60_000);
    const before = await t.rows.snapshot();
    const again = await post('key-1', body);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it('treats a body with reordered keys and equivalent ids as the same request', async () => {
    const body = campaignBody(t.clock.now());
    const first = await post('key-1', body);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await post('key-1', { ...reordered, audience: { excludeUserLists: ['1305'], userLists: ['1201'] } });
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    expect(await campaignCount()).toBe(1);
  });

  it('answers 422 for the same key with another body, and writes nothing', async () => {
    await post('key-1', campaignBody(t.clock.now()));
    const before = await t.rows.snapshot();
    const res = await post('key-1', campaignBody(t.clock.now(), { name: 'Another' }));
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it('frees the key once 24 hours have passed', async () => {
    const body = campaignBody(t.clock.now(), { scheduledAt: null });
    const first = await post('key-1', body);
    t.clock.advance(IDEMPOTENCY_TTL_MS);
    // Exactly 24 h later the key is still held.
    expect((await post('key-1', body)).json().id).toBe(first.json().id);
    t.clock.advance(1);
    const later = await post('key-1', body);
    expect(later.statusCode).toBe(201);
    expect(later.json().id).not.toBe(first.json().id);
    expect(await campaignCount()).toBe(2);
    // The freed key is now bound to the new request: a different body is a 422 again.
    expect((await post('key-1', campaignBody(t.clock.now(), { name: 'Other' }))).statusCode).toBe(422);
  });

  it('still replays within 24 h even though the first scheduledAt has since passed', async () => {
    const body = campaignBody(t.clock.now(), { scheduledAt: new Date(t.clock.now() + 60_000).toISOString() });
    const first = await post('key-1', body);
    t.clock.advance(120_000);
    const again = await post('key-1', body);
    expect(again.statusCode).toBe(201);
    expect(again.json().id).toBe(first.json().id);
  });

  it('creates a new campaign for each request without a key', async () => {
    const body = campaignBody(t.clock.now());
    await post(undefined, body);
    await post(undefined, body);
    expect(await campaignCount()).toBe(2);
  });

  it('scopes keys per token: two tokens may use the same key', async () => {
    const alice = await issueToken(t.app, t.admin, { name: 'alice', role: 'marketer', connectionIds: ['conn_sandbox'] });
    const bob = await issueToken(t.app, t.admin, { name: 'bob', role: 'marketer', connectionIds: ['conn_sandbox'] });
    const body = campaignBody(t.clock.now());
    const a = await post('shared', body, alice.headers);
    const b = await post('shared', body, bob.headers);
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(a.json().id).not.toBe(b.json().id);
    expect(b.json().createdBy).toBe('bob');
  });

  it('does not remember a rejected request: the key stays free for a corrected body', async () => {
    const bad = await post('key-1', campaignBody(t.clock.now(), { scheduledAt: '2020-01-01T00:00:00Z' }));
    expect(bad.statusCode).toBe(400);
    expect((await t.rows.rowCounts()).idempotency_keys).toBe(0);
    const good = await post('key-1', campaignBody(t.clock.now()));
    expect(good.statusCode).toBe(201);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'a b'],
    ['over 255 characters', 'k'.repeat(256)],
  ])('rejects a key that is %s with 400', async (_label, key) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, 'idempotency-key': key }, payload: campaignBody(t.clock.now()) });
    expect(res.statusCode).toBe(400);
    expect(await campaignCount()).toBe(0);
  });

  it('creates exactly one campaign for concurrent requests with one key', async () => {
    const body = campaignBody(t.clock.now());
    const responses = await Promise.all(Array.from({ length: 20 }, () => post('race', body)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    const ids = new Set(responses.map((r) => r.json().id));
    expect(ids.size).toBe(1);
    expect(await campaignCount()).toBe(1);
    expect((await t.rows.rowCounts()).campaign_events).toBe(1);
    expect(new Set(responses.map((r) => r.body)).size).toBe(1);
  });
});
