import { sql } from 'drizzle-orm';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createOfauthClient, type OfauthClient } from '../../src/ofauth/client.ts';
import type { SendStore } from '../../src/store/types.ts';
import { MAX_IN_FLIGHT_PER_CONNECTION } from '../../src/sync/reconciler.ts';
import { buildSeriesHarness, HOUR, seriesBody } from '../campaigns/series-support.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, getCampaign } from './support.ts';

/** Real OFAuth calls take hundreds of ms; 100 ms is enough for requests of one tick to overlap. */
const LATENCY = { faults: { latencyMs: [100, 100] as [number, number] } };

async function createMany(h: SyncHarness, count: number, prefix = 'c'): Promise<Array<Record<string, any>>> {
  const campaigns = [];
  for (let i = 0; i < count; i++) campaigns.push(await createSimCampaign(h, { name: `${prefix}${i}`, message: { text: `${prefix}${i}` } }));
  return campaigns;
}

async function leasesHeld(h: SyncHarness): Promise<number> {
  const [row] = await h.rows.query<{ n: number }>(sql`SELECT count(*) AS n FROM sends WHERE lease_owner IS NOT NULL`);
  return Number(row!.n);
}

/**
 * The SQLite store answers within the microtask that called it; a networked one (PostgreSQL)
 * answers after I/O, when the lane may be claiming again. This one answers as late.
 */
function answeringAfterIo(sends: SendStore): SendStore {
  return {
    ...sends,
    async claim(input) {
      const claimed = await sends.claim(input);
      await nextMacrotask();
      return claimed;
    },
    async recordOutcome(...args) {
      const recorded = await sends.recordOutcome(...args);
      await nextMacrotask();
      return recorded;
    },
  };
}

describe('reconciler: steps in flight per connection', () => {
  let h: SyncHarness;
  const extraClients: OfauthClient[] = [];
  afterEach(async () => {
    for (const client of extraClients.splice(0)) await client.close();
    await h.close();
  });

  it('overlaps the requests of one connection, up to the cap, and still creates each message once', async () => {
    h = await buildSyncHarness({ sim: LATENCY });
    const count = MAX_IN_FLIGHT_PER_CONNECTION + 8;
    const campaigns = await createMany(h, count);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ connections: 1, claimed: count, created: count, failed: 0, retried: 0, ambiguous: 0 });
    expect(h.sim.maxInFlight('conn_sandbox')).toBeGreaterThan(1);
    expect(h.sim.maxInFlight('conn_sandbox')).toBeLessThanOrEqual(MAX_IN_FLIGHT_PER_CONNECTION);
    const messages = h.sim.messages();
    expect(messages).toHaveLength(count);
    expect(new Set(messages.map((m) => m.body.text)).size).toBe(count);
    const remoteIds = await Promise.all(campaigns.map(async (c) => (await getCampaign(h, c.id)).sync.remoteId));
    expect(new Set(remoteIds)).toEqual(new Set(messages.map((m) => String(m.id))));
    expect(await leasesHeld(h)).toBe(0);
  });

  it.each([
    ['the SQLite store', false],
    ['a store that answers after I/O', true],
  ])('never has two steps of one send in flight, even when each send needs two in one tick (%s)', async (_label, isSlowStore) => {
    h = await buildSyncHarness({ sim: LATENCY });
    const campaigns = await createMany(h, 6);
    const idOfText = new Map(campaigns.map((c) => [c.message.text as string, c.id as string]));
    const active = new Map<string, number>();
    const overlaps: string[] = [];
    const track = async <T>(text: string, call: () => Promise<T>): Promise<T> => {
      const id = idOfText.get(text.replace(/ edited$/, ''))!;
      const now = (active.get(id) ?? 0) + 1;
      active.set(id, now);
      if (now > 1) overlaps.push(id);
      try {
        return await call();
      } finally {
        active.set(id, active.get(id)! - 1);
      }
    };
    const realCreate = h.client.createMassMessage.bind(h.client);
    const realUpdate = h.client.updateMassMessage.bind(h.client);
    h.client.createMassMessage = (connectionId, body, opts) =>
      track(body.text!, async () => {
        // The marketer edits while the create is in flight: an update is due the moment it lands.
        const id = idOfText.get(body.text!)!;
        await h.app.inject({ method: 'PATCH', url: `/v1/campaigns/${id}`, headers: h.admin, payload: { message: { text: `${body.text!} edited` } } });
        return realCreate(connectionId, body, opts);
      });
    h.client.updateMassMessage = (connectionId, remoteId, body, opts) => track(body.text!, () => realUpdate(connectionId, remoteId, body, opts));
    const reconciler = isSlowStore ? h.makeReconciler({ store: { connections: h.store.connections, sends: answeringAfterIo(h.store.sends) } }) : h.reconciler;

    const summary = await reconciler.reconcileOnce();

    expect(summary).toMatchObject({ claimed: 12, created: 6, updated: 6 });
    expect(overlaps).toEqual([]);
    expect(h.sim.maxInFlight('conn_sandbox')).toBeGreaterThan(1);
    expect(h.sim.messages().map((m) => m.body.text).sort()).toEqual(campaigns.map((c) => `${c.message.text as string} edited`).sort());
    expect(await leasesHeld(h)).toBe(0);
  });

  it('puts no more steps in flight than the bucket holds tokens', async () => {
    h = await buildSyncHarness({ sim: LATENCY });
    // Capacity 3 minus the limiter's headroom of 1: two tokens up front, then 2/s.
    const client = createOfauthClient({ baseUrl: h.sim.url, apiKey: h.sim.apiKey, rateLimit: { capacity: 3, refillPerSecond: 2 }, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 } });
    extraClients.push(client);
    await createMany(h, 4);

    const summary = await h.makeReconciler({ client }).reconcileOnce();

    expect(summary).toMatchObject({ created: 4 });
    expect(h.sim.maxInFlight('conn_sandbox')).toBeLessThanOrEqual(2);
  });

  it('starts the next step when the bucket refills, not only when a slow answer comes back', async () => {
    // Answers take 600 ms; a token comes every 100 ms. Waiting for an answer before using the
    // token that arrived meanwhile would keep one request in flight and leave each send late.
    h = await buildSyncHarness({ sim: { faults: { latencyMs: [600, 600] as [number, number] } } });
    const client = createOfauthClient({ baseUrl: h.sim.url, apiKey: h.sim.apiKey, rateLimit: { capacity: 2, refillPerSecond: 10 }, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 } });
    extraClients.push(client);
    const campaigns = await createMany(h, 4);

    const summary = await h.makeReconciler({ client }).reconcileOnce();

    expect(summary).toMatchObject({ created: 4, failed: 0, retried: 0, ambiguous: 0 });
    expect(h.sim.maxInFlight('conn_sandbox')).toBeGreaterThanOrEqual(2);
    expect(h.sim.messages().map((m) => m.body.text).sort()).toEqual(campaigns.map((c) => c.message.text).sort());
  });

  it('on an auth refusal starts nothing more and hands back what it had claimed', async () => {
    h = await buildSyncHarness({ sim: LATENCY });
    const count = MAX_IN_FLIGHT_PER_CONNECTION + 4;
    const campaigns = await createMany(h, count);
    h.sim.store.connections.get('conn_sandbox')!.status = 'expired';

    const summary = await h.reconciler.reconcileOnce();

    // The lane had not widened yet: the refusal cost one call.
    expect(summary.claimed).toBe(1);
    expect(summary).toMatchObject({ paused: summary.claimed, created: 0 });
    expect(await leasesHeld(h)).toBe(0);
    for (const c of campaigns) expect((await getCampaign(h, c.id)).sync.state).toBe('paused');
  });

  it('keeps one step at a time while OFAuth accepts no call on the connection', async () => {
    h = await buildSyncHarness({ sim: { faults: { latencyMs: [100, 100], rateLimitStorm: 1 } } });
    const count = 6;
    await createMany(h, count);

    const summary = await h.reconciler.reconcileOnce();

    expect(summary).toMatchObject({ claimed: count, retried: count, created: 0 });
    expect(h.sim.maxInFlight('conn_sandbox')).toBe(1);
    expect(await leasesHeld(h)).toBe(0);
  });

  it('stops claiming when the signal aborts, lets the step in flight finish and releases the rest', async () => {
    h = await buildSyncHarness({ sim: LATENCY });
    await createMany(h, 12);
    const controller = new AbortController();
    const realCreate = h.client.createMassMessage.bind(h.client);
    h.client.createMassMessage = (...args) => {
      controller.abort(); // shutdown begins while the first create is leaving
      return realCreate(...args);
    };

    const summary = await h.reconciler.reconcileOnce({ signal: controller.signal });

    expect(summary).toMatchObject({ claimed: 1, created: 1 });
    expect(h.sim.messages()).toHaveLength(1);
    expect(await leasesHeld(h)).toBe(0);
    h.client.createMassMessage = realCreate;
    expect(await h.reconciler.reconcileOnce()).toMatchObject({ claimed: 11, created: 11 });
  });
});

describe('reconciler: the sends of one series', () => {
  it('are worked side by side, each created once', async () => {
    // Hourly occurrences, six hours ahead: six sends of one campaign due at once.
    const h = await buildSeriesHarness({ start: Date.UTC(2030, 0, 1, 12, 30), env: { RECURRENCE_LEAD: '6h' }, sim: LATENCY });
    try {
      const res = await h.post('/v1/campaigns', seriesBody({ recurrence: { cron: '0 * * * *', timezone: 'UTC' } }));
      expect(res.statusCode, JSON.stringify(res.json)).toBe(201);

      const tick = await h.fanout.syncOnce();

      expect(tick).toMatchObject({ seriesSends: 6, created: 6, failed: 0, ambiguous: 0 });
      expect(h.sim.maxInFlight('conn_sandbox')).toBeGreaterThan(1);
      const sends = await h.sendsOf(res.json.id as string);
      expect(sends.map((s) => s.status)).toEqual(Array(6).fill('queued'));
      const remote = h.liveRemote();
      expect(new Set(sends.map((s) => s.sync.remoteId))).toEqual(new Set(remote.map((m) => String(m.id))));
      // One message per occurrence, each dated at its own hour.
      expect(remote.map((m) => Date.parse(m.body.scheduledDate as string)).sort()).toEqual(sends.map((s) => Date.parse(s.dueAt as string)).sort());
      expect(new Set(sends.map((s) => Date.parse(s.dueAt as string) % HOUR))).toEqual(new Set([0]));
    } finally {
      await h.close();
    }
  });
});
