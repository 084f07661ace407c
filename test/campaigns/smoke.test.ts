import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

describe('campaign API smoke', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('creates, reads and lists a campaign', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    expect(created.id).toMatch(/^cmp_/);
    expect(created.status).toBe('scheduled');
    expect(created.sync.state).toBe('pending');
    const got = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${created.id}`, headers: t.admin });
    expect(got.json()).toEqual(created);
    const list = await t.app.inject({ method: 'GET', url: '/v1/campaigns?status=scheduled', headers: t.admin });
    expect(list.json().items).toHaveLength(1);
  });

  it('answers problem+json naming the bad field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: t.admin,
      payload: campaignBody(t.clock.now(), { message: { text: 'x', price: 1 } }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().errors[0].path).toBe('body/message/price');
  });

  it('serves the OpenAPI document', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().paths)).toContain('/v1/campaigns');
  });
});
