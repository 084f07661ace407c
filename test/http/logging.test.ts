import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/app.ts';
import { buildTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.ts';
import { campaignBody } from '../helpers/factories.ts';
import { issueToken } from '../helpers/tokens.ts';

/** A pino destination that keeps every line in memory; pino writes to it synchronously. */
function captureStream(lines: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
}

// A careless plugin that logs whole header objects: redaction must still hide the token.
async function headerLoggingPlugin(scope: FastifyInstance) {
  scope.get('/echo-headers', async (request) => {
    request.log.info({ headers: request.headers }, 'headers as received');
    request.log.info({ req: { headers: request.headers } }, 'request as received');
    return { ok: true };
  });
}

describe('secrets stay out of logs and responses', () => {
  let t: TestApp;
  let lines: string[];
  beforeEach(async () => {
    lines = [];
    const logger = { ...(loggerOptions('trace') as object), stream: captureStream(lines) };
    t = await buildTestApp({ logger, v1Plugins: [headerLoggingPlugin] });
  });
  afterEach(async () => {
    await t.close();
  });

  it('never writes the admin token or an issued secret, at trace level, on any path', async () => {
    const bodies: string[] = [];
    const send = async (options: InjectOptions) => {
      const res = await t.app.inject(options);
      bodies.push(res.body);
      return res;
    };

    const tokenResponse = await t.app.inject({ method: 'POST', url: '/v1/tokens', headers: t.admin, payload: { name: 'alice', role: 'marketer' } });
    expect(tokenResponse.statusCode).toBe(201);
    const secret: string = tokenResponse.json().secret;
    const other = await issueToken(t.app, t.admin, { name: 'bob', role: 'admin' });
    const alice = { authorization: `Bearer ${secret}` };

    const created = await send({ method: 'POST', url: '/v1/campaigns', headers: { ...alice, 'idempotency-key': 'k' }, payload: campaignBody(t.clock.now()) });
    expect(created.statusCode).toBe(201);
    await send({ method: 'GET', url: `/v1/campaigns/${created.json().id}`, headers: alice });
    await send({ method: 'GET', url: '/v1/campaigns', headers: alice });
    await send({ method: 'GET', url: '/v1/tokens', headers: t.admin });
    await send({ method: 'GET', url: '/v1/tokens', headers: alice }); // 403
    await send({ method: 'POST', url: '/v1/campaigns', headers: alice, payload: { name: 1 } }); // 400
    await send({ method: 'POST', url: '/v1/campaigns', headers: { ...alice, 'content-type': 'application/json' }, payload: '{' }); // 400
    await send({ method: 'GET', url: '/v1/campaigns', headers: { authorization: `Bearer ${secret}x` } }); // 401
    await send({ method: 'GET', url: '/v1/echo-headers', headers: alice });
    await send({ method: 'GET', url: '/v1/echo-headers', headers: t.admin });
    await send({ method: 'DELETE', url: `/v1/tokens/${other.id}`, headers: t.admin });
    t.services.campaigns.list = () => {
      throw new Error('boom');
    };
    expect((await send({ method: 'GET', url: '/v1/campaigns', headers: alice })).statusCode).toBe(500);

    // The capture worked: requests, the token issue and the 500 were all logged.
    expect(lines.some((l) => l.includes('incoming request'))).toBe(true);
    expect(lines.some((l) => l.includes('token created'))).toBe(true);
    expect(lines.some((l) => l.includes('unhandled error'))).toBe(true);
    expect(lines.some((l) => l.includes('[redacted]'))).toBe(true);

    const logText = lines.join('\n');
    for (const value of [TEST_ADMIN_TOKEN, secret, other.secret]) {
      expect(logText).not.toContain(value);
      for (const body of bodies) expect(body).not.toContain(value);
    }
  });
});

describe('request logging', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  const logged = async (level: string) => {
    const lines: string[] = [];
    t = await buildTestApp({ logger: { ...(loggerOptions(level) as object), stream: captureStream(lines) } });
    const res = await t.app.inject({ method: 'GET', url: '/v1/campaigns?limit=5', headers: t.admin });
    expect(res.statusCode).toBe(200);
    const missing = await t.app.inject({ method: 'GET', url: '/v1/campaigns/cmp_01J0000000000000000000000X', headers: t.admin });
    expect(missing.statusCode).toBe(404);
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.reqId !== undefined);
  };

  it('writes one line per request at info, with the method, url, status and response time', async () => {
    const lines = await logged('info');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'request completed', req: { method: 'GET', url: '/v1/campaigns?limit=5' }, res: { statusCode: 200 } });
    expect(lines[1]).toMatchObject({ msg: 'request completed', req: { method: 'GET', url: '/v1/campaigns/cmp_01J0000000000000000000000X' }, res: { statusCode: 404 } });
    for (const line of lines) expect(line.responseTime).toEqual(expect.any(Number));
    expect(new Set(lines.map((line) => line.reqId)).size).toBe(2);
  });

  it('adds the incoming request line at debug, under the same request id', async () => {
    const lines = await logged('debug');
    expect(lines.map((line) => line.msg)).toEqual(['incoming request', 'request completed', 'incoming request', 'request completed']);
    expect(lines[0]).toMatchObject({ level: 20, req: { method: 'GET', url: '/v1/campaigns?limit=5' } });
    expect(lines[0]!.reqId).toBe(lines[1]!.reqId);
  });
});
