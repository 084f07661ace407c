import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';

type Operation = {
  tags?: string[];
  summary?: string;
  security?: Array<Record<string, string[]>>;
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
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
  'post /v1/tokens',
  'get /v1/tokens',
  'delete /v1/tokens/{id}',
];

describe('OpenAPI and Swagger UI', () => {
  let t: TestApp;
  let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes?: Record<string, unknown> } };
  beforeEach(async () => {
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

  it('keeps Swagger UI\'s own routes out of the document', () => {
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/docs'))).toEqual([]);
  });
});
