import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

// FC_SEED=<n> replays a failure; fast-check's report prints the seed and shrink path too, and the
// seed is in every test title so it shows even when only the title is read.
const SEED = Number(process.env.FC_SEED ?? 20_300_101);
const RUNS = Number(process.env.FC_RUNS ?? 250);

const HOUR = 3_600_000;
const HUGE = 'x'.repeat(20_001);
const OVER_BODY_LIMIT = 'y'.repeat(5 * 1024 * 1024 + 1);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values that are wrong somewhere: other types, edges, out-of-range numbers, bad dates, huge strings. */
const nastyValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(
    null, true, false, 0, -1, 1.5, 2.999, 3, 200.005, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, -0,
    '', ' ', '0', '-1', '1e3', '12345678901234567', 'NaN', 'null', 'conn_', 'draft', 'queued',
    '2030-01-01T12:00:00Z', '2030-02-30T00:00:00Z', '2030-01-01T12:00:00', '2030-01-01T12:00:00+0530',
    '9999-12-31T23:59:59-23:59', '0000-01-01T00:00:00+23:59', '2030-01-01T12:00:00.123456789+05:30',
    HUGE, OVER_BODY_LIMIT, [], {}, [null], [0], [''], ['1', 1], { text: 1 }, { userIds: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
  fc.string({ maxLength: 40 }),
  fc.double(),
  fc.integer(),
);

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const zoneOf = (offset: number) =>
  offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;

/** The instant `ms` written as local time at `offset` minutes from UTC. */
const isoAt = (ms: number, offset: number): string => `${new Date(ms + offset * 60_000).toISOString().slice(0, 19)}${zoneOf(offset)}`;

const offsetMinutes = fc.oneof(fc.constant(0), fc.integer({ min: -1439, max: 1439 }));

/**
 * Any ISO-8601 date-time in the accepted format: every year 0000–9999 and offset, impossible days
 * (02-31) included, and local times at the ends of the range, where an offset can move the UTC
 * instant outside years 0000–9999.
 */
const anyIsoDate: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      offset: offsetMinutes,
    })
    .map(({ year, month, day, hour, minute, offset }) => `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:00${zoneOf(offset)}`),
  fc
    .tuple(fc.constantFrom('0000-01-01T00:00:00', '0000-01-01T11:30:00', '9999-12-31T23:59:59.999', '9999-12-31T12:00:00'), offsetMinutes)
    .map(([local, offset]) => `${local}${zoneOf(offset)}`),
);

/** Mostly dates around "now" with varied offsets, so both sides of "in the future" appear; some anywhere. */
const isoDate = (now: number): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.integer({ min: -48 * HOUR, max: 400 * 24 * HOUR }), fc.constantFrom(0, 60, -300, 330, 840, -720, 1439, -1439))
        .map(([delta, offset]) => isoAt(now + delta, offset)),
    },
    { weight: 1, arbitrary: anyIsoDate },
  );

const id = fc.integer({ min: 1, max: 1_000_000 });
const idOrString = fc.oneof(id, id.map(String));

const message = fc.record(
  {
    text: fc.string({ maxLength: 60 }),
    mediaItems: fc.array(fc.oneof(id, fc.constantFrom('4212', 'ofauth_upload_abc', 'https://cdn.test/a.jpg')), { maxLength: 3 }),
    price: fc.constantFrom(0, 3, 9.99, 200),
    previewMediaCount: fc.constantFrom(0, 1),
    isLockedText: fc.boolean(),
    isMarkdown: fc.boolean(),
    userTags: fc.array(id, { maxLength: 3 }),
    releaseForms: fc.record({ users: fc.array(id, { maxLength: 2 }), partners: fc.array(id, { maxLength: 2 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const audience = (now: number) =>
  fc.record(
    {
      userIds: fc.array(idOrString, { maxLength: 3 }),
      userLists: fc.array(idOrString, { maxLength: 3 }),
      excludeUserLists: fc.array(idOrString, { maxLength: 2 }),
      subscribedAfterDate: fc.option(isoDate(now - 400 * 24 * HOUR)),
    },
    { requiredKeys: [] },
  );

const createBody = (now: number) =>
  fc.record(
    {
      name: fc.oneof(fc.constant('Friday PPV drop'), fc.string({ maxLength: 30 })),
      connectionId: fc.constantFrom('conn_sandbox', 'conn_b'),
      message,
      audience: audience(now),
      scheduledAt: fc.option(isoDate(now)),
      status: fc.constantFrom('draft', 'scheduled'),
    },
    { requiredKeys: ['name', 'connectionId', 'message', 'audience', 'scheduledAt'] },
  );

const patchBody = (now: number) =>
  fc.record(
    { name: fc.string({ maxLength: 30 }), message, audience: audience(now), scheduledAt: fc.option(isoDate(now)) },
    { requiredKeys: [] },
  );

type Path = Array<string | number>;

/** Every location in a JSON value, objects and arrays included, so a mutation can hit any of them. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

type Mutation = { op: 'set'; value: Json } | { op: 'delete' } | { op: 'extra'; key: string; value: Json };

function mutate(root: Json, path: Path, mutation: Mutation): Json {
  const copy = structuredClone(root);
  if (path.length === 0) return mutation.op === 'set' ? mutation.value : copy;
  let parent: any = copy;
  for (const step of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return copy;
    parent = parent[step];
  }
  const last = path.at(-1)!;
  if (parent === null || typeof parent !== 'object') return copy;
  if (mutation.op === 'set') parent[last] = mutation.value;
  else if (mutation.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  }
  else if (parent[last] && typeof parent[last] === 'object' && !Array.isArray(parent[last])) parent[last][mutation.key] = mutation.value;
  return copy;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: nastyValue.map((value) => ({ op: 'set' as const, value })) },
  { weight: 2, arbitrary: fc.constant({ op: 'delete' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(fc.constantFrom('scheduleAt', 'sendAt', 'prise', 'userID', 'status', 'id', 'constructor', 'revision'), fc.string({ maxLength: 10 })), nastyValue)
      .map(([key, value]) => ({ op: 'extra' as const, key, value })),
  },
);

/** A valid body with one to three mutations applied at random locations. */
const mutated = (base: fc.Arbitrary<Record<string, unknown>>) =>
  base.chain((body) =>
    fc
      .array(fc.tuple(fc.constantFrom(...pathsOf(body as Json)), mutation), { minLength: 1, maxLength: 3 })
      .map((steps) => steps.reduce<Json>((acc, [path, m]) => mutate(acc, path, m), body as Json)),
  );

/** What a request sends: a JSON value, or raw text that is usually not JSON at all. */
type Payload = { kind: 'json'; value: Json } | { kind: 'raw'; text: string };

const payloadFrom = (bodies: fc.Arbitrary<Json>): fc.Arbitrary<Payload> =>
  fc.oneof(
    { weight: 6, arbitrary: bodies.map((value) => ({ kind: 'json' as const, value })) },
    { weight: 2, arbitrary: (fc.jsonValue() as fc.Arbitrary<Json>).map((value) => ({ kind: 'json' as const, value })) },
    { weight: 1, arbitrary: fc.oneof(fc.string(), fc.json().map((s) => s.slice(0, -1))).map((text) => ({ kind: 'raw' as const, text })) },
  );

const idempotencyKey = fc.option(fc.constantFrom('k1', 'k2', 'k 3', ''), { nil: undefined });

function expectWellFormed(res: LightMyRequestResponse, label: string): void {
  expect(res.statusCode, `${label} → ${res.statusCode} ${res.body.slice(0, 300)}`).toBeLessThan(500);
  if (res.statusCode < 300) return;
  expect(res.headers['content-type'], label).toBe('application/problem+json; charset=utf-8');
  const problem = res.json();
  expect(problem, label).toMatchObject({ status: res.statusCode, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
}

describe(`malformed and random bodies (FC_SEED=${SEED}, ${RUNS} runs)`, () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  /** Sends one payload; a rejected request must leave every table exactly as it was. */
  async function check(method: 'POST' | 'PATCH', url: string, payload: Payload, key: string | undefined): Promise<LightMyRequestResponse> {
    const before = await t.rows.snapshot();
    const stampBefore = await t.rows.writeStamp();
    const res = await t.app.inject({
      method,
      url,
      headers: { ...t.admin, 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
      payload: payload.kind === 'json' ? JSON.stringify(payload.value) : payload.text,
    });
    const label = `${method} ${url} ${JSON.stringify(payload).slice(0, 300)}`;
    expectWellFormed(res, label);
    if (res.statusCode >= 300) {
      expect(await t.rows.snapshot(), label).toEqual(before);
      expect((await t.rows.writeStamp()) === stampBefore, `${label}: database bytes changed`).toBe(true);
    }
    return res;
  }

  it(`POST /v1/campaigns never answers 5xx and writes nothing when it refuses (FC_SEED=${SEED})`, async () => {
    const now = t.clock.now();
    await fc.assert(
      fc.asyncProperty(payloadFrom(mutated(createBody(now)) as fc.Arbitrary<Json>), idempotencyKey, async (payload, key) => {
        const res = await check('POST', '/v1/campaigns', payload, key);
        if (res.statusCode < 300) expect(res.statusCode).toBe(201);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it(`POST /v1/campaigns accepts what the generator calls valid, or names a field (FC_SEED=${SEED})`, async () => {
    const now = t.clock.now();
    await fc.assert(
      fc.asyncProperty(createBody(now), async (body) => {
        const res = await check('POST', '/v1/campaigns', { kind: 'json', value: body as Json }, undefined);
        if (res.statusCode !== 201) {
          expect(res.statusCode, res.body).toBe(400);
          expect(res.json().errors?.length ?? 0, res.body).toBeGreaterThan(0);
        }
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
    );
  });

  it(`PATCH /v1/campaigns/:id never answers 5xx and writes nothing when it refuses (FC_SEED=${SEED})`, async () => {
    const now = t.clock.now();
    const target = await createCampaign(t.app, t.admin, campaignBody(now, { scheduledAt: new Date(now + 500 * 24 * HOUR).toISOString() }));
    await fc.assert(
      fc.asyncProperty(payloadFrom(fc.oneof(patchBody(now), mutated(patchBody(now))) as fc.Arbitrary<Json>), async (payload) => {
        const res = await check('PATCH', `/v1/campaigns/${target.id}`, payload, undefined);
        if (res.statusCode < 300) expect(res.json().id).toBe(target.id);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it(`GET /v1/campaigns never answers 5xx for any query string (FC_SEED=${SEED})`, async () => {
    await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const key = fc.constantFrom('status', 'limit', 'cursor', 'connectionId', 'scheduledFrom', 'scheduledTo', 'other');
    const value = fc.oneof(fc.string({ maxLength: 30 }), nastyValue.filter((v) => typeof v !== 'string' || v.length < 1000).map((v) => JSON.stringify(v)));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 5 }), async (pairs) => {
        const query = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        const before = await t.rows.snapshot();
        const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns?${query}`, headers: t.admin });
        expectWellFormed(res, query);
        expect(await t.rows.snapshot()).toEqual(before);
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
