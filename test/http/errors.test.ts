import { connect, type Socket } from 'node:net';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../../src/app.ts';
import { answerConnectionError } from '../../src/http/error-handler.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
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
    const before = await t.rows.snapshot();
    const res = await t.app.inject(options);
    expect(await t.rows.snapshot()).toEqual(before);
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

  // The router answers these itself, before any route, hook or error handler runs.
  describe('raised by the router', () => {
    it('414 uri_too_long for a path parameter over the router\'s limit', async () => {
      const long = 'x'.repeat(150);
      const requests = [`GET /v1/campaigns/${long}`, `GET /v1/campaigns/${long}/events`, `DELETE /v1/tokens/${long}`];
      for (const [method, url] of requests.map((r) => r.split(' ') as ['GET' | 'DELETE', string])) {
        const res = await rejected({ method, url, headers: t.admin });
        expectProblem(res, 414, 'uri_too_long');
        expect(res.body).not.toContain(long);
      }
    });

    it('400 bad_url for a malformed percent-encoding, on known and unknown paths alike', async () => {
      for (const url of ['/v1/campaigns/%zz', '/v1/camp%zzaigns', '/v1/campaigns/cmp_%E0%A4%A', '/nothing/%zz']) {
        expectProblem(await rejected({ method: 'GET', url, headers: t.admin }), 400, 'bad_url');
      }
    });

    it('500 internal_error, logged, when an async route constraint fails', async () => {
      const lines: Array<Record<string, unknown>> = [];
      const logger = { level: 'error', stream: { write: (line: string) => lines.push(JSON.parse(line)) } };
      const withConstraint = await buildTestApp({ logger, rootPlugins: [constrainedRoute] });
      try {
        const res = await withConstraint.app.inject({ method: 'GET', url: '/constrained' });
        expectProblem(res, 500, 'internal_error');
        expect(lines).toEqual([expect.objectContaining({ msg: 'unhandled error', err: expect.objectContaining({ code: 'FST_ERR_ASYNC_CONSTRAINT' }) })]);
      } finally {
        await withConstraint.close();
      }
    });
  });

  // Node's HTTP parser refuses these before Fastify builds a request, so inject cannot reach
  // them: they need a real socket.
  describe('raised by the HTTP parser', () => {
    it('431 headers_too_large for a header block over the limit', async () => {
      const raw = await sendRaw(t.app, `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(20_000)}\r\n\r\n`);
      expectRawProblem(raw, 431, 'headers_too_large');
    });

    it('400 bad_request for a request that is not HTTP', async () => {
      const raw = await sendRaw(t.app, 'NOT HTTP AT ALL\r\n\r\n');
      expectRawProblem(raw, 400, 'bad_request');
    });

    // A request timeout needs requestTimeout set and a real wait; the handler is called directly.
    it('408 request_timeout for a request that arrived too slowly, and nothing on a reset connection', () => {
      const written: string[] = [];
      const socket = { writable: true, destroyed: false, write: (text: string) => written.push(text), destroy: () => undefined };
      const fail = (code: string) => answerConnectionError(Object.assign(new Error(code), { code, bytesParsed: 0, rawPacket: { type: 'Buffer', data: [] } }), socket as unknown as Socket);
      fail('ECONNRESET');
      expect(written).toEqual([]);
      fail('ERR_HTTP_REQUEST_TIMEOUT');
      expectRawProblem(written.join(''), 408, 'request_timeout');
    });
  });
});

/** A route whose async constraint always fails, the one way to reach FST_ERR_ASYNC_CONSTRAINT. */
async function constrainedRoute(scope: FastifyInstance): Promise<void> {
  const handlers = new Map<string, unknown>();
  const failingTenant = {
    name: 'tenant',
    storage: () => ({ get: (key: string) => handlers.get(key) ?? null, set: (key: string, handler: unknown) => void handlers.set(key, handler) }),
    deriveConstraint: (_request: unknown, _ctx: unknown, done: (error: Error | null) => void) => done(new Error('tenant lookup failed')),
  };
  // find-my-way's types describe only the synchronous form; a three-argument deriveConstraint is the async one.
  scope.addConstraintStrategy(failingTenant as unknown as Parameters<FastifyInstance['addConstraintStrategy']>[0]);
  scope.get('/constrained', { constraints: { tenant: 'a' } }, async () => ({ ok: true }));
}

/** Writes `request` to a fresh connection to the listening app and resolves with all it answers. */
async function sendRaw(app: FastifyInstance, request: string): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  return new Promise((resolve, reject) => {
    const socket = connect(address.port, '127.0.0.1', () => socket.write(request));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
  });
}

function expectRawProblem(raw: string, status: number, code: string) {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  expect(head.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
  expect(head.toLowerCase()).toContain('content-type: application/problem+json; charset=utf-8');
  expect(JSON.parse(body)).toMatchObject({ type: `/problems/${code}`, status, code, title: expect.any(String), detail: expect.any(String) });
}
