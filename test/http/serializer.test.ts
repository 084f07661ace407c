import { serializerCompiler as encodingSerializerCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { campaignListSchema, campaignSchema, eventListSchema } from '../../src/campaigns/schemas.ts';
import { problemSchema } from '../../src/http/common-schemas.ts';
import { isDirectional, serializerCompiler } from '../../src/http/serializer.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

const compile = (compiler: typeof serializerCompiler, schema: z.ZodType) =>
  compiler({ schema, method: 'GET', url: '/x', httpStatus: '200' } as Parameters<typeof serializerCompiler>[0]);

describe('response serializer', () => {
  it.each([
    ['Campaign', campaignSchema],
    ['campaign list', campaignListSchema],
    ['event list', eventListSchema],
    ['Problem', problemSchema],
    ['a recursive schema', z.object({ get children() { return z.array(z.object({ name: z.string() })); } })],
  ])('takes the parse path for %s, which has nothing directional', (_label, schema) => {
    expect(isDirectional(schema)).toBe(false);
  });

  it.each([
    ['a codec', z.object({ at: z.codec(z.iso.datetime(), z.date(), { decode: (s) => new Date(s), encode: (d) => d.toISOString() }) })],
    ['a transform', z.object({ n: z.string().transform((s) => s.length) })],
    ['a pipe', z.array(z.string().pipe(z.string()))],
    ['a default', z.object({ n: z.number().default(1) })],
    ['a catch', z.object({ n: z.number().catch(0) })],
    ['a trim (an overwriting check)', z.object({ s: z.string().trim() })],
    ['a transform inside a union', z.union([z.number(), z.string().transform(Number)])],
    ['a transform behind optional and nullable', z.object({ n: z.string().transform(Number).nullable().optional() })],
  ])('keeps encode for %s', (_label, schema) => {
    expect(isDirectional(schema as z.ZodType)).toBe(true);
  });

  it('writes byte for byte what the encoding serializer writes, unknown keys stripped alike', () => {
    const schema = z.object({ a: z.string(), b: z.array(z.object({ c: z.number().nullable() })), d: z.iso.datetime().nullable() });
    const data = { a: 'x', b: [{ c: 1, extra: true }, { c: null }], d: '2030-01-01T00:00:00.000Z', secretHash: 'no' };
    const ours = compile(serializerCompiler, schema)(data);
    expect(ours).toBe(compile(encodingSerializerCompiler, schema)(data));
    expect(ours).not.toContain('secretHash');
  });

  it('still refuses a response that breaks its schema', () => {
    expect(() => compile(serializerCompiler, z.object({ n: z.number() }))({ n: 'one' })).toThrow(/doesn't match the schema/);
  });

  describe('in the app', () => {
    let t: TestApp;
    // A route whose response schema has a codec, and one that answers something off-schema.
    const plugin: FastifyPluginAsyncZod = async (scope) => {
      scope.get('/codec', { schema: { response: { 200: z.object({ at: z.codec(z.iso.datetime(), z.date(), { decode: (s) => new Date(s), encode: (d) => d.toISOString() }) }) } } }, async () => ({
        at: new Date(Date.UTC(2030, 0, 1)),
      }));
      scope.get('/broken', { schema: { response: { 200: z.object({ n: z.number() }) } } }, async () => ({ n: 'one' }) as unknown as { n: number });
    };
    beforeEach(async () => {
      t = await buildTestApp({ v1Plugins: [plugin] });
    });
    afterEach(async () => {
      await t.close();
    });

    it('encodes through codecs', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/codec', headers: t.admin });
      expect(res.json()).toEqual({ at: '2030-01-01T00:00:00.000Z' });
    });

    it('answers a generic 500 problem for an off-schema response', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/v1/broken', headers: t.admin });
      expect(res.statusCode).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('serializes real campaigns exactly as the encoding serializer would', async () => {
      await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { audience: { userIds: ['7'], subscribedAfterDate: '2029-01-01T00:00:00+01:00' } }));
      await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { scheduledAt: null, message: { text: 'é 🔥 "quoted"', mediaItems: ['https://x.test/a.jpg?q="x"'] } }));
      const res = await t.app.inject({ method: 'GET', url: '/v1/campaigns', headers: t.admin });
      expect(res.body).toBe(compile(encodingSerializerCompiler, campaignListSchema)(res.json()));
    });
  });
});
