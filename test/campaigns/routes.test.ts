import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

const HOUR = 3_600_000;

describe('POST /v1/campaigns', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (payload: unknown) => t.app.inject({ method: 'POST', url: '/v1/campaigns', headers: t.admin, payload: payload as object });

  it('creates a scheduled campaign with every message default filled in', async () => {
    const res = await post({
      name: 'Friday PPV drop',
      connectionId: 'conn_sandbox',
      message: { text: 'hi' },
      audience: { userIds: [7] },
      scheduledAt: new Date(t.clock.now() + HOUR).toISOString(),
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'Friday PPV drop',
      connectionId: 'conn_sandbox',
      status: 'scheduled',
      message: {
        text: 'hi',
        mediaItems: [],
        price: 0,
        previewMediaCount: 0,
        isLockedText: false,
        isMarkdown: true,
        userTags: [],
        releaseForms: { users: [], partners: [], guests: [] },
      },
      audience: { userIds: [7], userLists: [], excludeUserLists: [], subscribedAfterDate: null },
      sync: { state: 'pending', revision: 1, syncedRevision: 0, remoteId: null },
      stats: null,
      createdBy: 'admin',
      createdAt: new Date(t.clock.now()).toISOString(),
    });
    expect(body.id).toMatch(/^cmp_[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('creates a draft when asked, which the reconciler leaves alone', async () => {
    const body = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { status: 'draft' }));
    expect(body.status).toBe('draft');
    expect(body.sync.state).toBe('idle');
  });

  it('returns scheduledAt in UTC whatever offset was sent', async () => {
    const body = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { scheduledAt: '2030-01-02T09:30:00+05:30' }));
    expect(body.scheduledAt).toBe('2030-01-02T04:00:00.000Z');
  });

  it('accepts scheduledAt null (send as soon as synced)', async () => {
    const body = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { scheduledAt: null }));
    expect(body.scheduledAt).toBeNull();
  });

  it('normalises audience ids to numbers and removes duplicates', async () => {
    const body = await createCampaign(
      t.app,
      t.admin,
      campaignBody(t.clock.now(), {
        audience: { userIds: ['12', 12, 13], userLists: [1201, '1201', '1202'], excludeUserLists: ['1305', 1305], subscribedAfterDate: '2029-06-01T00:00:00+02:00' },
      }),
    );
    expect(body.audience).toEqual({
      userIds: [12, 13],
      userLists: [1201, 1202],
      excludeUserLists: [1305],
      subscribedAfterDate: '2029-05-31T22:00:00.000Z',
    });
  });

  it('keeps mixed media items: vault ids, upload references and URLs', async () => {
    const mediaItems = [4211, '4212', 'ofauth_upload_abc.1', 'https://cdn.example.com/a.jpg'];
    const body = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { message: { text: 'x', mediaItems, previewMediaCount: 4 } }));
    expect(body.message.mediaItems).toEqual(mediaItems);
  });

  it.each([
    ['price 0 (free)', { price: 0 }],
    ['price 3', { price: 3 }],
    ['price 200', { price: 200 }],
    ['price with two decimals', { price: 19.99 }],
    ['text of exactly 10,000 characters', { text: 'a'.repeat(10_000) }],
    ['previewMediaCount equal to the media count', { mediaItems: [1, 2], previewMediaCount: 2 }],
    ['locked text and plain text', { isLockedText: true, isMarkdown: false }],
    ['user tags and release forms', { userTags: [5, 5, 6], releaseForms: { users: [1], partners: [2], guests: [3] } }],
  ])('accepts a message with %s', async (_label, message) => {
    const res = await post(campaignBody(t.clock.now(), { message: { text: 'x', ...message } }));
    expect(res.statusCode, res.body).toBe(201);
  });

  it('de-duplicates user tags', async () => {
    const body = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { message: { text: 'x', userTags: [5, 5, 6] } }));
    expect(body.message.userTags).toEqual([5, 6]);
  });

  // Each bad body names the field in errors[].path; a 400 must also leave the database untouched.
  it.each([
    ['text over 10,000 characters', { message: { text: 'a'.repeat(10_001) } }, 'body/message/text'],
    ['price between 0 and 3', { message: { text: 'x', price: 2.99 } }, 'body/message/price'],
    ['price over 200', { message: { text: 'x', price: 200.01 } }, 'body/message/price'],
    ['negative price', { message: { text: 'x', price: -1 } }, 'body/message/price'],
    ['price with three decimals', { message: { text: 'x', price: 9.999 } }, 'body/message/price'],
    ['price as a string', { message: { text: 'x', price: '9.99' } }, 'body/message/price'],
    ['previewMediaCount above the media count', { message: { text: 'x', mediaItems: [1], previewMediaCount: 2 } }, 'body/message/previewMediaCount'],
    ['negative previewMediaCount', { message: { text: 'x', previewMediaCount: -1 } }, 'body/message/previewMediaCount'],
    ['media item 0', { message: { text: 'x', mediaItems: [0] } }, 'body/message/mediaItems/0'],
    ['fractional media item', { message: { text: 'x', mediaItems: [1.5] } }, 'body/message/mediaItems/0'],
    ['empty media item string', { message: { text: 'x', mediaItems: [''] } }, 'body/message/mediaItems/0'],
    ['non-positive user tag', { message: { text: 'x', userTags: [0] } }, 'body/message/userTags/0'],
    ['string isLockedText', { message: { text: 'x', isLockedText: 'yes' } }, 'body/message/isLockedText'],
    ['release form id as a string', { message: { text: 'x', releaseForms: { users: ['a'] } } }, 'body/message/releaseForms/users/0'],
    ['audience without userIds or userLists', { audience: { excludeUserLists: [1] } }, 'body/audience/userIds'],
    ['empty audience', { audience: {} }, 'body/audience/userIds'],
    ['a list both included and excluded', { audience: { userLists: [1, 2], excludeUserLists: ['2'] } }, 'body/audience/excludeUserLists'],
    ['user id 0', { audience: { userIds: [0] } }, 'body/audience/userIds/0'],
    ['negative user id', { audience: { userIds: [-4] } }, 'body/audience/userIds/0'],
    ['non-numeric user list string', { audience: { userLists: ['12a'] } }, 'body/audience/userLists/0'],
    ['user id beyond 2^53', { audience: { userIds: ['99999999999999999'] } }, 'body/audience/userIds/0'],
    ['subscribedAfterDate without an offset', { audience: { userIds: [1], subscribedAfterDate: '2030-01-01T00:00:00' } }, 'body/audience/subscribedAfterDate'],
    ['missing scheduledAt', { scheduledAt: undefined }, 'body/scheduledAt'],
    ['scheduledAt without an offset', { scheduledAt: '2030-01-02T00:00:00' }, 'body/scheduledAt'],
    ['scheduledAt as a date only', { scheduledAt: '2030-01-02' }, 'body/scheduledAt'],
    ['scheduledAt as epoch milliseconds', { scheduledAt: Date.UTC(2030, 0, 2) }, 'body/scheduledAt'],
    ['scheduledAt in the past', { scheduledAt: '2029-12-31T00:00:00Z' }, 'body/scheduledAt'],
    ['scheduledAt equal to now', { scheduledAt: '2030-01-01T12:00:00Z' }, 'body/scheduledAt'],
    // An offset may carry a valid local time past year 9999 in UTC, which has no 4-digit ISO form.
    ['scheduledAt past year 9999 in UTC', { scheduledAt: '9999-12-31T23:59:59-05:00' }, 'body/scheduledAt'],
    ['subscribedAfterDate before year 0000 in UTC', { audience: { userIds: [1], subscribedAfterDate: '0000-01-01T00:00:00+01:00' } }, 'body/audience/subscribedAfterDate'],
    ['status queued (only draft or scheduled may be asked for)', { status: 'queued' }, 'body/status'],
    ['blank name', { name: '   ' }, 'body/name'],
    ['name over 200 characters', { name: 'n'.repeat(201) }, 'body/name'],
    ['connection id not in conn_ form', { connectionId: 'sandbox' }, 'body/connectionId'],
    // Strict objects: a typo must never silently fall back to a default such as "send now".
    ['unknown top-level field (typo of scheduledAt)', { scheduleAt: '2030-01-02T00:00:00Z' }, 'body'],
    ['unknown message field', { message: { text: 'x', prise: 5 } }, 'body/message'],
    ['unknown audience field', { audience: { userIds: [1], excludeUsers: [2] } }, 'body/audience'],
    ['unknown releaseForms field', { message: { text: 'x', releaseForms: { fans: [1] } } }, 'body/message/releaseForms'],
  ])('rejects %s with 400 naming the field', async (_label, overrides, path) => {
    const before = await t.rows.snapshot();
    const res = await post(campaignBody(t.clock.now(), overrides));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({ type: '/problems/validation_failed', status: 400, code: 'validation_failed' });
    expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await t.rows.snapshot()).toEqual(before);
  });
});

describe('GET /v1/campaigns/:id', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('returns what the create returned', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${created.id}`, headers: t.admin });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
  });

  it('answers 404 problem+json for an unknown id and 400 for a malformed one', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/v1/campaigns/cmp_01JABCDEFGHJKMNPQRSTVWXYZ0', headers: t.admin });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'not_found', status: 404 });
    const malformed = await t.app.inject({ method: 'GET', url: '/v1/campaigns/not-an-id', headers: t.admin });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().errors[0].path).toBe('params/id');
  });
});

describe('PATCH /v1/campaigns/:id and revisions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  const patch = (id: string, payload: object) => t.app.inject({ method: 'PATCH', url: `/v1/campaigns/${id}`, headers: t.admin, payload });

  it.each([
    ['message', { message: { text: 'changed' } }],
    ['audience', { audience: { userIds: [99] } }],
    ['scheduledAt', { scheduledAt: '2030-01-01T18:00:00Z' }],
    ['scheduledAt to null', { scheduledAt: null }],
  ])('bumps sync.revision when %s changes', async (_label, change) => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    t.clock.advance(1_000);
    const res = await patch(created.id, change);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().sync.revision).toBe(2);
    expect(res.json().updatedAt).toBe(new Date(t.clock.now()).toISOString());
  });

  it('does not bump the revision for a name-only change', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const res = await patch(created.id, { name: 'Renamed' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Renamed', sync: { revision: 1 } });
  });

  it('merges a partial message and audience into the stored ones', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const res = await patch(created.id, { message: { price: 25 }, audience: { userIds: ['5'] } });
    expect(res.json().message).toEqual({ ...created.message, price: 25 });
    expect(res.json().audience).toEqual({ ...created.audience, userIds: [5] });
  });

  it('changes nothing for a no-op PATCH: same row, no event, no revision', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    t.clock.advance(1_000);
    const before = await t.rows.snapshot();
    const res = await patch(created.id, {
      name: created.name,
      message: { text: created.message.text, price: created.message.price },
      audience: { userLists: created.audience.userLists.map(String) },
      scheduledAt: created.scheduledAt.replace('Z', '+00:00'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(created);
    expect(await t.rows.snapshot()).toEqual(before);
  });

  it.each([
    ['an empty body', {}, 'body'],
    ['an unknown field', { nmae: 'x' }, 'body'],
    ['a status change (only the action routes move status)', { status: 'draft' }, 'body'],
    ['a connection change', { connectionId: 'conn_other' }, 'body'],
    ['a past scheduledAt', { scheduledAt: '2029-01-01T00:00:00Z' }, 'body/scheduledAt'],
    ['a merged audience that would be empty', { audience: { userLists: [] } }, 'body/audience/userIds'],
    ['a merged audience including and excluding one list', { audience: { excludeUserLists: [1201] } }, 'body/audience/excludeUserLists'],
    ['fewer media than previewMediaCount after the merge', { message: { mediaItems: [] } }, 'body/message/previewMediaCount'],
  ])('rejects %s and writes nothing', async (_label, payload, path) => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const before = await t.rows.snapshot();
    const res = await patch(created.id, payload);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await t.rows.snapshot()).toEqual(before);
  });
});

describe('GET /v1/campaigns/:id/events', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('records created, updated (with the changed fields), scheduled and canceled, with actor and time', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { status: 'draft' }));
    const id = created.id as string;
    const t0 = t.clock.now();
    t.clock.advance(1_000);
    await t.app.inject({ method: 'PATCH', url: `/v1/campaigns/${id}`, headers: t.admin, payload: { name: 'New', message: { text: 'new' } } });
    t.clock.advance(1_000);
    await t.app.inject({ method: 'POST', url: `/v1/campaigns/${id}/schedule`, headers: t.admin });
    t.clock.advance(1_000);
    await t.app.inject({ method: 'POST', url: `/v1/campaigns/${id}/cancel`, headers: t.admin });

    const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${id}/events`, headers: t.admin });
    expect(res.statusCode).toBe(200);
    const at = (offset: number) => new Date(t0 + offset).toISOString();
    expect(res.json().items).toEqual([
      expect.objectContaining({ type: 'created', actor: 'admin', at: at(0), data: { status: 'draft', revision: 1 } }),
      expect.objectContaining({ type: 'updated', actor: 'admin', at: at(1_000), data: { fields: ['name', 'message'], revision: 2 } }),
      expect.objectContaining({ type: 'scheduled', actor: 'admin', at: at(2_000) }),
      expect.objectContaining({ type: 'canceled', actor: 'admin', at: at(3_000), data: expect.objectContaining({ from: 'scheduled' }) }),
    ]);
    expect(res.json().nextCursor).toBeNull();
  });

  it('pages with limit and cursor, oldest first', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    for (let i = 0; i < 4; i++) {
      await t.app.inject({ method: 'PATCH', url: `/v1/campaigns/${created.id}`, headers: t.admin, payload: { name: `n${i}` } });
    }
    const types: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/campaigns/${created.id}/events?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page: { items: Array<{ type: string; data: { fields?: string[] } }>; nextCursor: string | null } = (
        await t.app.inject({ method: 'GET', url, headers: t.admin })
      ).json();
      types.push(...page.items.map((e) => e.type));
      cursor = page.nextCursor;
    } while (cursor);
    expect(types).toEqual(['created', 'updated', 'updated', 'updated', 'updated']);
  });
});
