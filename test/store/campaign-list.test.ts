import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';

/** The list query is prepared once per filter shape; it must stay exact. */
describe('campaign store list', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('gives the same records as find, column for column', async () => {
    const created = await createCampaign(t.app, t.admin, campaignBody(t.clock.now()));
    const [listed] = await t.store.campaigns.list({ connectionIds: null, limit: 1 });
    const full = (await t.store.campaigns.find(created.id))!;
    // The list joins each one-shot campaign to its send; both must decode as find decodes them.
    for (const [key, value] of Object.entries(listed!.campaign)) expect(value, key).toEqual(full.campaign[key as keyof typeof full.campaign]);
    for (const [key, value] of Object.entries(listed!.send!)) expect(value, key).toEqual(full.send![key as keyof typeof full.send]);
    expect(Object.keys(listed!.campaign).length + Object.keys(listed!.send!).length).toBeGreaterThan(20);
  });

  it('stays correct across more filter shapes than it caches, reusing none wrongly', async () => {
    const connections = Array.from({ length: 80 }, (_, i) => `conn_c${i}`);
    const ids: string[] = [];
    for (const connectionId of connections.slice(0, 3)) {
      t.clock.advance(1);
      ids.push((await createCampaign(t.app, t.admin, campaignBody(t.clock.now(), { connectionId }))).id);
    }
    // Each length of connection list is its own statement; 80 of them overflow the cache.
    for (let round = 0; round < 2; round++) {
      for (let n = 1; n <= connections.length; n++) {
        const rows = await t.store.campaigns.list({ connectionIds: connections.slice(0, n), limit: 10 });
        expect(rows.map((r) => r.campaign.id)).toEqual(ids.slice(0, Math.min(n, 3)).reverse());
      }
    }
    expect(await t.store.campaigns.list({ connectionIds: [], limit: 10 })).toEqual([]);
    expect((await t.store.campaigns.list({ connectionIds: null, limit: 10, beforeId: ids[2] })).map((r) => r.campaign.id)).toEqual([ids[1], ids[0]]);
  });
});
