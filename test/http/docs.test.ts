import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/app.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';

type Operation = {
  tags?: string[];
  summary?: string;
  security?: Array<Record<string, string[]>>;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown; example?: Record<string, unknown> }> }>;
};

// The routes the issue promises; each must be in the document (sync/stats routes may add more).
const expectedOperations = [
  'get /health',
  'post /v1/campaigns',
  'get /v1/campaigns',
  'get /v1/campaigns/{id}',
  'patch /v1/campaigns/{id}',
  'delete /v1/campaigns/{id}',
  'post /v1/campaigns/{id}/schedule',
  'post /v1/campaigns/{id}/cancel',
  'get /v1/campaigns/{id}/events',
  'post /v1/campaigns/{id}/test-send',
  'post /v1/sends/{id}/unsend',
  'post /v1/tokens',
  'get /v1/tokens',
  'delete /v1/tokens/{id}',
];

describe('OpenAPI and Swagger UI', () => {
  let t: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes?: Record<string, unknown> } };
  beforeEach(async () => {
    // buildApp registers every route, sync and stats included.
    t = await buildTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterEach(async () => {
    await t.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ name: `${method} ${path}`, path, op })));

  it('serves Swagger UI as HTML without a token', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Swagger UI');
  });

  it('is OpenAPI 3 with a bearerAuth security scheme', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes).toMatchObject({ bearerAuth: { type: 'http', scheme: 'bearer' } });
  });

  it('documents every promised route', () => {
    expect(operations().map((o) => o.name)).toEqual(expect.arrayContaining(expectedOperations));
  });

  it('gives every operation tags, a summary and a schema for its success response', () => {
    for (const { name, op } of operations()) {
      expect(op.tags?.length, name).toBeGreaterThan(0);
      expect(op.summary, name).toBeTruthy();
      const success = Object.entries(op.responses ?? {}).filter(([code]) => /^2\d\d$/.test(code));
      expect(success.length, name).toBeGreaterThan(0);
      for (const [code, response] of success) {
        if (code === '204') continue; // No content: a description is all there is.
        expect(response.content?.['application/json']?.schema, `${name} ${code}`).toBeDefined();
      }
    }
  });

  it('requires bearerAuth on every /v1 operation and on no public one', () => {
    for (const { name, path, op } of operations()) {
      if (path.startsWith('/v1/')) {
        expect(op.security, name).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(op.responses ?? {}), name).toEqual(expect.arrayContaining(['401']));
      } else {
        expect(op.security, name).toBeUndefined();
      }
    }
  });

  it('documents every /v1 error response as application/problem+json with an example of its own status', () => {
    for (const { name, path, op } of operations()) {
      if (!path.startsWith('/v1/')) continue;
      const errors = Object.entries(op.responses ?? {}).filter(([code]) => /^[45]\d\d$/.test(code));
      expect(errors.map(([code]) => code), name).toEqual(expect.arrayContaining(['400', '500']));
      for (const [code, response] of errors) {
        expect(Object.keys(response.content ?? {}), `${name} ${code}`).toEqual(['application/problem+json']);
        const media = response.content!['application/problem+json']!;
        expect(media.schema, `${name} ${code}`).toEqual({ $ref: '#/components/schemas/Problem' });
        expect(media.example?.status, `${name} ${code}`).toBe(Number(code));
        expect(media.example?.type, `${name} ${code}`).toBe(`/problems/${String(media.example?.code)}`);
        expect(response.description, `${name} ${code}`).toBe(media.example?.title);
      }
    }
  });

  it('keeps /health 503 as the health body: degraded is a status report, not a problem', () => {
    expect(Object.keys(doc.paths['/health']!.get!.responses!['503']!.content!)).toEqual(['application/json']);
  });

  it('shows POST /v1/campaigns 409 and GET /v1/campaigns/{id} 404 as problem+json, each with its own example', () => {
    const conflict = doc.paths['/v1/campaigns']!.post!.responses!['409']!.content!['application/problem+json']!;
    expect(conflict.example).toMatchObject({ status: 409, code: 'invalid_state', title: 'Conflict with the current state' });
    const notFound = doc.paths['/v1/campaigns/{id}']!.get!.responses!['404']!.content!['application/problem+json']!;
    expect(notFound.example).toMatchObject({ status: 404, code: 'not_found', title: 'Not found' });
    expect(notFound.example?.detail).toMatch(/^No campaign with id cmp_/);
    const revoked = doc.paths['/v1/tokens/{id}']!.delete!.responses!['404']!.content!['application/problem+json']!;
    expect(revoked.example?.detail).toMatch(/^No token with id tok_/);
  });

  /** The documented example for one operation and status. */
  const example = (path: string, method: string, status: number) =>
    doc.paths[path]?.[method]?.responses?.[String(status)]?.content?.['application/problem+json']?.example;

  it('documents, for each status, the body the API really answers', async () => {
    const campaignId = String(example('/v1/campaigns/{id}', 'get', 404)?.detail).match(/cmp_\w+/)![0];
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const marketer = await issueToken(t.app, t.admin, { name: 'm', role: 'marketer' });
    const keyed = { ...t.admin, 'idempotency-key': 'k' };
    await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: keyed, payload: campaignBody(t.clock.now()) });
    const cases = [
      { path: '/v1/campaigns', method: 'post', status: 401, request: { url: '/v1/campaigns', payload: {} } },
      { path: '/v1/tokens', method: 'get', status: 403, request: { url: '/v1/tokens', headers: marketer.headers } },
      { path: '/v1/campaigns/{id}', method: 'get', status: 404, request: { url: `/v1/campaigns/${campaignId}`, headers: t.admin } },
      { path: '/v1/campaigns/{id}/schedule', method: 'post', status: 409, request: { url: `/v1/campaigns/${created.id}/schedule`, headers: t.admin } },
      {
        path: '/v1/campaigns',
        method: 'post',
        status: 413,
        request: { url: '/v1/campaigns', headers: { ...t.admin, 'content-type': 'application/json' }, payload: `"${'x'.repeat(BODY_LIMIT_BYTES)}"` },
      },
      { path: '/v1/campaigns', method: 'post', status: 415, request: { url: '/v1/campaigns', headers: { ...t.admin, 'content-type': 'text/plain' }, payload: 'x' } },
      { path: '/v1/campaigns', method: 'post', status: 422, request: { url: '/v1/campaigns', headers: keyed, payload: campaignBody(t.clock.now(), { name: 'other' }) } },
    ];
    for (const { path, method, status, request } of cases) {
      const res = await t.app.inject({ method: method.toUpperCase() as 'GET', ...request });
      expect(res.statusCode, `${method} ${path}`).toBe(status);
      expect(example(path, method, status), `${method} ${path} ${status}`).toEqual(res.json());
    }
    const invalid = await t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: t.admin, payload: campaignBody(t.clock.now(), { message: { price: 1 } }) });
    expect(example('/v1/campaigns', 'post', 400)).toEqual(invalid.json());
  });

  it('keeps Swagger UI\'s own routes out of the document', () => {
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
  });
});
