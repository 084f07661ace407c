import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

/* A campaign's followUps through the API: what is accepted, shown and refused (changing nothing). */

const followUp = (overrides: Record<string, unknown> = {}) => ({ after: '24h', message: { text: 'Still thinking about it?', price: 4.99 }, audience: 'non_buyers', ...overrides });

describe('campaign follow-ups', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (overrides: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: t.admin, payload: campaignBody(t.clock.now(), overrides) });
  const patch = (id: string, payload: Record<string, unknown>) => t.app.inject({ method: 'PATCH', url: `/v1/campaigns/${id}`, headers: t.admin, payload });

  it('stores follow-ups earliest first with their message defaults, and leaves the send revision alone when only they change', async () => {
    const res = await post({ followUps: [followUp({ after: '2d' }), followUp({ after: '90m', message: { text: 'Soon gone' } })] });
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created.followUps).toEqual([
      { after: '90m', audience: 'non_buyers', message: expect.objectContaining({ text: 'Soon gone', price: 0, isMarkdown: true, mediaItems: [] }) },
      { after: '2d', audience: 'non_buyers', message: expect.objectContaining({ text: 'Still thinking about it?', price: 4.99 }) },
    ]);
    const edited = await patch(created.id, { followUps: [followUp({ after: '1440m' })] });
    expect(edited.statusCode, edited.body).toBe(200);
    expect(edited.json().followUps.map((f: { after: string }) => f.after)).toEqual(['1d']);
    expect(edited.json().sync.revision).toBe(created.sync.revision);
    const removed = await patch(created.id, { followUps: [] });
    expect(removed.json().followUps).toBeUndefined();
  });

  it('shows no followUps field on a campaign without them', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    expect(created).not.toHaveProperty('followUps');
  });

  it.each([
    ['follow-ups on a free campaign', { message: { text: 'free', price: 0 }, followUps: [followUp()] }, 'body/followUps'],
    ['after under 1h', { followUps: [followUp({ after: '59m' })] }, 'body/followUps/0/after'],
    ['after over 7d', { followUps: [followUp({ after: '8d' })] }, 'body/followUps/0/after'],
    ['after as milliseconds', { followUps: [followUp({ after: 3_600_000 })] }, 'body/followUps/0/after'],
    ['an audience other than non_buyers', { followUps: [followUp({ audience: 'everyone' })] }, 'body/followUps/0/audience'],
    ['an unknown follow-up field', { followUps: [{ ...followUp(), delay: '1h' }] }, 'body/followUps/0'],
    ['a bad follow-up message', { followUps: [followUp({ message: { text: 'x', price: 1 } })] }, 'body/followUps/0/message/price'],
    ['more than five follow-ups', { followUps: Array.from({ length: 6 }, () => followUp()) }, 'body/followUps'],
  ])('refuses %s with 400 naming it, storing nothing', async (_label, overrides, path) => {
    const before = await t.rows.snapshot();
    const res = await post(overrides);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it.each([
    ['adds follow-ups to a free campaign', { message: { text: 'free', price: 0 } }, { followUps: [followUp()] }, 'body/followUps'],
    ['makes a campaign with follow-ups free', { followUps: [followUp()] }, { message: { price: 0 } }, 'body/followUps'],
    ['sets after to 30m', {}, { followUps: [followUp({ after: '30m' })] }, 'body/followUps/0/after'],
  ])('refuses a PATCH that %s, changing nothing', async (_label, createOverrides, body, path) => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), createOverrides));
    const before = await t.rows.snapshot();
    const res = await patch(created.id, body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await t.rows.snapshot()).toEqual(before);
  });
});

describe('campaign follow-ups with FOLLOW_UP_MIN_AFTER lowered', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('accepts an after down to FOLLOW_UP_MIN_AFTER and refuses one below it, naming the follow-up by its place', async () => {
    t = await buildTestApp({ env: { FOLLOW_UP_MIN_AFTER: '2m' } });
    const post = (after: string) =>
      t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: t.admin, payload: campaignBody(t.clock.now(), { followUps: [followUp({ after: '1d' }), followUp({ after })] }) });
    const accepted = await post('2m');
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect(accepted.json().followUps.map((f: { after: string }) => f.after)).toEqual(['2m', '1d']);
    const before = await t.rows.snapshot();
    const refused = await post('1m');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([{ path: 'body/followUps/1/after', message: 'after must be at least 2m (FOLLOW_UP_MIN_AFTER)' }]);
    expect(await t.rows.snapshot()).toEqual(before);
  });
});
