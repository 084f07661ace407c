import { request } from 'undici';
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

const sims: StartedSimulator[] = [];
afterEach(async () => {
  for (const sim of sims.splice(0)) await sim.close();
});

async function start(options: SimulatorOptions = {}) {
  const sim = await startSimulator({ clock: new ManualClock(), ...options });
  sims.push(sim);
  return sim;
}

interface CallInit {
  body?: unknown;
  headers?: Record<string, string>;
  auth?: boolean;
}

async function call(sim: StartedSimulator, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, init: CallInit = {}) {
  const headers: Record<string, string> = { ...(init.auth === false ? {} : { apikey: sim.apiKey, 'x-connection-id': sim.connectionId }), ...init.headers };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await request(`${sim.url}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const text = await response.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.statusCode, headers: response.headers, json: json as Record<string, unknown> & unknown[] };
}

const ok = { text: 'hi', userIds: [1] };

describe('validation (contract §2.1)', () => {
  test.each([
    ['text over 10 000 chars', { ...ok, text: 'x'.repeat(10_001) }],
    ['price over 200', { ...ok, price: 200.01 }],
    ['negative price', { ...ok, price: -1 }],
    ['mediaItems with 0', { ...ok, mediaItems: [0] }],
    ['mediaItems with an empty string', { ...ok, mediaItems: [''] }],
    ['negative previewMediaCount', { ...ok, previewMediaCount: -1 }],
    ['fractional previewMediaCount', { ...ok, previewMediaCount: 1.5 }],
    ['userTags with 0', { ...ok, userTags: [0] }],
    ['releaseForms ids <= 0', { ...ok, releaseForms: { users: [-3] } }],
    ['userIds with 0', { text: 'x', userIds: [0] }],
    ['no recipients', { text: 'x' }],
    ['empty recipients', { text: 'x', userIds: [], userLists: [] }],
    ['unknown list', { text: 'x', userLists: [77] }],
    ['unknown excluded list', { text: 'x', userLists: [1], excludeUserLists: ['77'] }],
    ['unparseable scheduledDate', { ...ok, scheduledDate: 'tomorrow-ish' }],
    ['body not an object', [1, 2]],
  ])('%s → 400 BAD_REQUEST in format A', async (_name, body) => {
    const sim = await start();
    const { status, json } = await call(sim, 'POST', '/v2/access/messages/queue', { body });
    expect(status).toBe(400);
    expect(json).toMatchObject({ type: 'BAD_REQUEST', requestId: expect.stringMatching(/^req_/), error: expect.any(String) });
    expect(sim.messages()).toHaveLength(0);
  });

  test('accepts the edges and the documented variants', async () => {
    const sim = await start();
    const body = {
      text: 'x'.repeat(10_000),
      price: 200,
      mediaItems: [1, '2', 'ofauth_upload_abc', 'https://example.com/a.jpg'],
      previewMediaCount: 0,
      isLockedText: null,
      isMarkdown: false,
      releaseForms: { users: [1], partners: [], guests: [2] },
      userTags: [5],
      userIds: [1, '2'],
      userLists: ['1', 2],
      excludeUserLists: [4],
      subscribedAfterDate: '2029-01-01T00:00:00Z',
      unknownField: 'ignored',
    };
    const { status, json } = await call(sim, 'POST', '/v2/access/mass-messages', { body });
    expect(status).toBe(200);
    expect(json).toMatchObject({ id: 1_000_001, isDone: false, total: 2 + 1200 + 300 - 25 });
    expect(sim.messages()[0]?.body).not.toHaveProperty('unknownField');
  });

  test('format B answers validation errors with 422 and {error, code, details}', async () => {
    const sim = await start({ errorFormat: 'B' });
    const { status, json } = await call(sim, 'POST', '/v2/access/messages/queue', { body: { text: 'x' } });
    expect(status).toBe(422);
    expect(json).toEqual({ error: expect.any(String), code: 'VALIDATION_FAILED', details: { field: 'userIds', message: expect.any(String) } });
  });

  test('malformed JSON is a 400 in the documented format, and unknown routes a 404 ROUTE_NOT_FOUND', async () => {
    const sim = await start();
    const response = await request(`${sim.url}/v2/access/messages/queue`, {
      method: 'POST',
      headers: { apikey: sim.apiKey, 'x-connection-id': sim.connectionId, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(response.statusCode).toBe(400);
    expect(await response.body.json()).toMatchObject({ type: 'BAD_REQUEST' });
    expect(await call(sim, 'GET', '/v2/access/nothing-here')).toMatchObject({ status: 404, json: { type: 'ROUTE_NOT_FOUND' } });
  });
});

describe('auth and rate limiting', () => {
  test('apiKey header name is case-insensitive; a missing key or connection is refused', async () => {
    const sim = await start();
    expect((await call(sim, 'GET', '/v2/access/users/lists', { auth: false, headers: { APIKEY: sim.apiKey, 'x-connection-id': sim.connectionId } })).status).toBe(200);
    expect(await call(sim, 'GET', '/v2/access/users/lists', { auth: false })).toMatchObject({ status: 401, json: { type: 'UNAUTHORIZED' } });
    expect(await call(sim, 'GET', '/v2/access/users/lists', { auth: false, headers: { apiKey: sim.apiKey } })).toMatchObject({
      status: 401,
      json: { type: 'SESSION_NOT_PROVIDED' },
    });
  });

  test('429 RATE_LIMIT_EXCEEDED with X-RateLimit-* headers, Retry-After when switched on; refills with the clock', async () => {
    const clock = new ManualClock();
    const sim = await start({ clock, rateLimit: { capacity: 2, refillPerSecond: 0.5 }, retryAfter: true });
    const first = await call(sim, 'GET', '/v2/access/users/lists');
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '2', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '2' });
    await call(sim, 'GET', '/v2/access/users/lists');
    const limited = await call(sim, 'GET', '/v2/access/users/lists');
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ type: 'RATE_LIMIT_EXCEEDED' });
    expect(limited.headers).toMatchObject({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '4', 'retry-after': '2' });
    clock.advance(2000);
    expect((await call(sim, 'GET', '/v2/access/users/lists')).status).toBe(200);
  });

  test('buckets are per connection; no Retry-After by default', async () => {
    const sim = await start({ rateLimit: { capacity: 1, refillPerSecond: 1 }, connections: [{ id: 'a' }, { id: 'b' }] });
    const as = (id: string) => ({ headers: { 'x-connection-id': id } });
    expect((await call(sim, 'GET', '/v2/access/users/lists', as('a'))).status).toBe(200);
    const limited = await call(sim, 'GET', '/v2/access/users/lists', as('a'));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeUndefined();
    expect((await call(sim, 'GET', '/v2/access/users/lists', as('b'))).status).toBe(200);
  });
});

describe('lifecycle and edits', () => {
  test('PUT keeps the id and works only while scheduled; without scheduledDate it sends at once', async () => {
    const clock = new ManualClock();
    const sim = await start({ clock });
    const inAnHour = new Date(clock.now() + 3_600_000).toISOString();
    const created = await call(sim, 'POST', '/v2/access/messages/queue', { body: { ...ok, scheduledDate: inAnHour } });
    const id = created.json.id as number;
    const updated = await call(sim, 'PUT', `/v2/access/mass-messages/${id}`, { body: { text: 'now', userIds: [1, 2] } });
    expect(updated).toMatchObject({ status: 200, json: { id, total: 2 } });
    expect(sim.messages()[0]).toMatchObject({ state: 'sending', hasScheduledDate: false });
    const again = await call(sim, 'PUT', `/v2/access/messages/queue/${id}`, { body: { ...ok, scheduledDate: inAnHour } });
    expect(again).toMatchObject({ status: 400, json: { type: 'BAD_REQUEST' } });
  });

  test('DELETE cancels a scheduled message (also via /mass-messages/scheduled/{id}); a second DELETE is a 400', async () => {
    const clock = new ManualClock();
    const sim = await start({ clock });
    const created = await call(sim, 'POST', '/v2/access/mass-messages', { body: { ...ok, scheduledDate: new Date(clock.now() + 60_000).toISOString() } });
    const id = created.json.id as number;
    const deleted = await call(sim, 'DELETE', `/v2/access/mass-messages/scheduled/${id}`);
    expect(deleted).toMatchObject({ status: 200, json: { success: true, queue: { id, isCanceled: true } } });
    expect(sim.messages()[0]?.state).toBe('canceled');
    expect((await call(sim, 'DELETE', `/v2/access/messages/queue/${id}`)).status).toBe(400);
    clock.advance(120_000);
    expect(sim.messages()[0]).toMatchObject({ state: 'canceled', sentCount: 0 });
  });

  test('stats: limit over 20 is a 400; prices are strings; free messages carry no price', async () => {
    const sim = await start();
    await call(sim, 'POST', '/v2/access/messages/queue', { body: { ...ok, price: 7.5, mediaItems: [1] } });
    await call(sim, 'POST', '/v2/access/messages/queue', { body: ok });
    expect((await call(sim, 'GET', '/v2/access/messages/queue/stats?type=unsent&limit=21')).status).toBe(400);
    expect((await call(sim, 'GET', '/v2/access/messages/queue/stats?type=bogus')).status).toBe(400);
    const page = await call(sim, 'GET', '/v2/access/messages/queue/stats?type=unsent&limit=20');
    const [free, paid] = (page.json as unknown as { list: Array<Record<string, unknown>> }).list;
    expect(paid).toMatchObject({ price: '7.50', isFree: false, isFromQueue: true });
    expect(free).not.toHaveProperty('price');
    expect(free).toMatchObject({ isFree: true, text: '<p>hi</p>' });
  });

  test('another connection cannot see or touch a message', async () => {
    const sim = await start({ connections: [{ id: 'a' }, { id: 'b' }] });
    const created = await call(sim, 'POST', '/v2/access/messages/queue', { body: ok, headers: { 'x-connection-id': 'a' } });
    const id = created.json.id as number;
    expect((await call(sim, 'GET', `/v2/access/messages/queue/${id}`, { headers: { 'x-connection-id': 'b' } })).status).toBe(404);
    expect((await call(sim, 'DELETE', `/v2/access/messages/queue/${id}`, { headers: { 'x-connection-id': 'b' } })).status).toBe(404);
    expect(sim.messages('b')).toEqual([]);
    expect(sim.messages('a')).toHaveLength(1);
  });
});

describe('faults and inspection', () => {
  async function statusesFor(seed: number) {
    const sim = await start({ faults: { seed, serverErrorBeforeCommit: 0.2, serverErrorAfterCommit: 0.2, rateLimitStorm: 0.1 }, rateLimit: false });
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await call(sim, 'POST', '/v2/access/messages/queue', { body: ok })).status);
    return { statuses, created: sim.messages().length };
  }

  test('a seed reproduces the same faults; another seed gives others', async () => {
    const seed = 20_240_601;
    const a = await statusesFor(seed);
    const b = await statusesFor(seed);
    const c = await statusesFor(seed + 1);
    expect(a, `seed ${seed}`).toEqual(b);
    expect(c.statuses, `seed ${seed + 1}`).not.toEqual(a.statuses);
    expect(new Set(a.statuses)).toEqual(new Set([200, 429, 500]));
    // 500-after-commit creates; 500-before-commit and 429 do not.
    expect(a.created).toBeGreaterThan(a.statuses.filter((s) => s === 200).length);
  });

  test('/__sim: messages, request counts, faults, clock, reset', async () => {
    const clock = new ManualClock();
    const sim = await start({ clock });
    await call(sim, 'POST', '/v2/access/messages/queue', { body: ok });
    await call(sim, 'GET', '/v2/access/messages/queue/stats?type=sent');
    const messages = await call(sim, 'GET', `/__sim/messages?connectionId=${sim.connectionId}`, { auth: false });
    expect(messages.json).toMatchObject({ messages: [{ id: 1_000_001, state: 'sending', body: ok, connectionId: sim.connectionId }] });
    expect(JSON.stringify(messages.json)).not.toContain(sim.apiKey);
    expect((await call(sim, 'GET', '/__sim/requests', { auth: false })).json).toEqual({
      counts: { 'GET /v2/access/messages/queue/stats 200': 1, 'POST /v2/access/messages/queue 200': 1 },
    });

    expect((await call(sim, 'POST', '/__sim/faults', { auth: false, body: { serverErrorBeforeCommit: 2 } })).status).toBe(400);
    expect((await call(sim, 'POST', '/__sim/faults', { auth: false, body: { serverErrorBeforeCommit: 1 } })).status).toBe(200);
    expect((await call(sim, 'GET', '/v2/access/users/lists')).status).toBe(500);
    await call(sim, 'POST', '/__sim/faults', { auth: false, body: {} });

    const moved = await call(sim, 'POST', '/__sim/clock', { auth: false, body: { advanceMs: 61_000 } });
    expect(moved.json).toEqual({ now: new Date(Date.UTC(2030, 0, 1, 0, 1, 1)).toISOString() });
    expect(sim.messages()[0]?.state).toBe('sent');
    await call(sim, 'POST', '/__sim/clock', { auth: false, body: { now: '2031-01-01T00:00:00Z' } });
    expect(clock.now()).toBe(Date.UTC(2031, 0, 1));

    await call(sim, 'POST', '/__sim/reset', { auth: false });
    expect(sim.messages()).toEqual([]);
    expect(sim.requestCounts()).toEqual({});
    const again = await call(sim, 'POST', '/v2/access/messages/queue', { body: ok });
    expect(again.json.id).toBe(1_000_001);
  });

  test('/__sim/clock refuses to move the system clock', async () => {
    const sim = await startSimulator();
    sims.push(sim);
    expect((await call(sim, 'POST', '/__sim/clock', { auth: false, body: { advanceMs: 1 } })).status).toBe(400);
  });
});
