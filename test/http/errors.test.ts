import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/app.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { snapshotTables } from '../helpers/db-snapshot.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';

/** Every error answers one shape: RFC 9457 problem+json with a stable code. */
function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = res.json();
  expect(body).toMatchObject({ type: `/problems/${code}`, status, code });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  for (const key of Object.keys(body)) expect(['type', 'title', 'status', 'detail', 'code', 'instance', 'errors']).toContain(key);
  if (body.errors) {
    for (const e of body.errors) expect(Object.keys(e).sort()).toEqual(['message', 'path']);
  }
}

describe('error responses', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  /** Sends a request that must be refused, and checks it wrote nothing at all. */
  async function rejected(options: InjectOptions): Promise<LightMyRequestResponse> {
    const before = snapshotTables(t.db);
    const res = await t.app.inject(options);
    expect(snapshotTables(t.db)).toEqual(before);
    return res;
  }

  const json = { 'content-type': 'application/json' };

  it('400 for malformed JSON', async () => {
    const res = await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, ...json }, payload: '{"name": "x",' });
    expectProblem(res, 400, 'malformed_json');
  });

  it('400 for an empty JSON body', async () => {
    const res = await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, ...json }, payload: '' });
    expectProblem(res, 400, 'malformed_json');
  });

  it('400 for JSON with a prototype-polluting key', async () => {
    const body = JSON.stringify(campaignBody(t.clock.now())).replace('{', '{"__proto__":{"isAdmin":true},');
    const res = await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, ...json }, payload: body });
    expect(res.statusCode).toBe(400);
    expectProblem(res, 400, res.json().code);
  });

  it('400 for a JSON value that is not an object', async () => {
    for (const payload of ['null', '[]', '"text"', '42', 'true']) {
      const res = await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, ...json }, payload });
      expectProblem(res, 400, 'validation_failed');
    }
  });

  it('400 naming every bad field at once', async () => {
    const res = await rejected({
      method: 'POST',
      url: '/v1/campaigns',
      headers: t.admin,
      payload: campaignBody(t.clock.now(), { name: '', connectionId: 'x', message: { text: 'x', price: 1 } }),
    });
    expectProblem(res, 400, 'validation_failed');
    const paths = res.json().errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body/name', 'body/connectionId', 'body/message/price']));
  });

  it('401 for a missing or unknown token, before anything else is looked at', async () => {
    expectProblem(await rejected({ method: 'POST', url: '/v1/campaigns', payload: campaignBody(t.clock.now()) }), 401, 'unauthorized');
    expectProblem(
      await rejected({ method: 'POST', url: '/v1/campaigns', headers: { authorization: 'Bearer nope', 'content-type': 'text/plain' }, payload: 'x' }),
      401,
      'unauthorized',
    );
  });

  it('403 for a marketer on an admin route', async () => {
    const marketer = await issueToken(t.app, t.admin, { name: 'm', role: 'marketer' });
    expectProblem(await rejected({ method: 'GET', url: '/v1/tokens', headers: marketer.headers }), 403, 'forbidden');
  });

  it('404 for an unknown campaign and an unknown route', async () => {
    expectProblem(await rejected({ method: 'GET', url: '/v1/campaigns/cmp_00000000000000000000000000', headers: t.admin }), 404, 'not_found');
    expectProblem(await rejected({ method: 'GET', url: '/v1/nothing-here', headers: t.admin }), 404, 'route_not_found');
    expectProblem(await rejected({ method: 'PUT', url: '/v1/campaigns', headers: t.admin, payload: {} }), 404, 'route_not_found');
  });

  it('409 for an action the status does not allow', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    expectProblem(await rejected({ method: 'POST', url: `/v1/campaigns/${created.id}/schedule`, headers: t.admin }), 409, 'invalid_state');
  });

  it('413 for a body over 5 MiB', async () => {
    const payload = JSON.stringify({ ...campaignBody(t.clock.now()), name: 'x'.repeat(BODY_LIMIT_BYTES) });
    expect(Buffer.byteLength(payload)).toBeGreaterThan(BODY_LIMIT_BYTES);
    expectProblem(await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, ...json }, payload }), 413, 'payload_too_large');
  });

  it('400, not 413, for a body just under 5 MiB that is merely invalid', async () => {
    const filler = 'x'.repeat(BODY_LIMIT_BYTES - 1_000);
    const payload = JSON.stringify({ ...campaignBody(t.clock.now()), message: { text: filler } });
    expect(Buffer.byteLength(payload)).toBeLessThan(BODY_LIMIT_BYTES);
    expectProblem(await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, ...json }, payload }), 400, 'validation_failed');
  });

  it('415 for a body that is not JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await rejected({ method: 'POST', url: '/v1/campaigns', headers: { ...t.admin, 'content-type': type }, payload: 'name=x' });
      expectProblem(res, 415, 'unsupported_media_type');
    }
  });

  it('422 for an idempotency key reused with another body', async () => {
    const headers = { ...t.admin, 'idempotency-key': 'k' };
    await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers, payload: campaignBody(t.clock.now()) });
    const res = await rejected({ method: 'POST', url: '/v1/campaigns', headers, payload: campaignBody(t.clock.now(), { name: 'other' }) });
    expectProblem(res, 422, 'idempotency_key_reused');
  });

  it('500 with a generic body when something unexpected throws, logged but not leaked', async () => {
    // Replace one dependency method for the failure path, as STYLE.md asks; the route looks it up per call.
    t.services.campaigns.get = () => {
      throw new Error('SQLITE_CORRUPT: secret internals at /var/lib/fanout.db');
    };
    const res = await t.app.inject({ method: 'GET', url: '/v1/campaigns/cmp_00000000000000000000000000', headers: t.admin });
    expectProblem(res, 500, 'internal_error');
    expect(res.body).not.toContain('SQLITE');
    expect(res.body).not.toContain('/var/lib');
  });

  it('500 problem+json also for a non-Error throw', async () => {
    t.services.campaigns.get = () => {
      throw 'a bare string';
    };
    const res = await t.app.inject({ method: 'GET', url: '/v1/campaigns/cmp_00000000000000000000000000', headers: t.admin });
    expectProblem(res, 500, 'internal_error');
  });
});
