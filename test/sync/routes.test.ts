import { afterEach, describe, expect, it } from 'vitest';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';
import { createSimCampaign, eventTypes } from './support.ts';

describe('sync API', () => {
  let h: SyncHarness;
  afterEach(async () => {
    await h.close();
  });

  it('POST /v1/campaigns/:id/sync attempts the campaign now, even while it backs off', async () => {
    h = await buildSyncHarness();
    const campaign = await createSimCampaign(h);
    h.sim.setFaults({ rateLimitStorm: 1 });
    await h.reconciler.reconcileOnce();
    h.sim.setFaults({});

    const res = await h.app.inject({ method: 'POST', url: `/v1/campaigns/${campaign.id}/sync`, headers: h.admin });

    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'queued', sync: { state: 'synced', attempts: 0 } });
    expect(await eventTypes(h, campaign.id)).toContain('sync_requested');
  });

  it('answers 404 for an unknown campaign', async () => {
    h = await buildSyncHarness();
    const res = await h.app.inject({ method: 'POST', url: '/v1/campaigns/cmp_01J00000000000000000000000/sync', headers: h.admin });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('GET /v1/sync/status shows the due backlog per connection and what is in flight', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h);
    await createSimCampaign(h);

    const before = (await h.app.inject({ method: 'GET', url: '/v1/sync/status', headers: h.admin })).json();
    expect(before).toMatchObject({ backlog: [{ connectionId: 'conn_sandbox', due: 2 }], inFlight: 0, pausedConnections: [] });

    await h.reconciler.reconcileOnce();
    const after = (await h.app.inject({ method: 'GET', url: '/v1/sync/status', headers: h.admin })).json();
    expect(after.backlog).toEqual([]);
  });

  it('GET /v1/sync/status shows the last sync tick and the last stats run', async () => {
    h = await buildSyncHarness();
    const empty = (await h.app.inject({ method: 'GET', url: '/v1/sync/status', headers: h.admin })).json();
    expect(empty).toMatchObject({ lastTick: null, lastStatsRun: null });
    await h.store.runs.record({ kind: 'sync', owner: 'a', startedAt: h.clock.now(), durationMs: 12, summary: { claimed: 1 }, error: null });
    await h.store.runs.record({ kind: 'stats', owner: 'a', startedAt: h.clock.now() + 1_000, durationMs: 34, summary: null, error: 'OFAuth unreachable' });

    const status = (await h.app.inject({ method: 'GET', url: '/v1/sync/status', headers: h.admin })).json();

    expect(status.lastTick).toEqual({ startedAt: new Date(h.clock.now()).toISOString(), durationMs: 12, summary: { claimed: 1 }, error: null });
    expect(status.lastStatsRun).toEqual({ startedAt: new Date(h.clock.now() + 1_000).toISOString(), durationMs: 34, summary: null, error: 'OFAuth unreachable' });
  });

  it('GET /metrics reports attempts, OFAuth requests and tick duration in Prometheus format', async () => {
    h = await buildSyncHarness();
    await createSimCampaign(h);
    await h.reconciler.reconcileOnce();

    const res = await h.app.inject({ method: 'GET', url: '/metrics' });

    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('fanout_sync_attempts_total{operation="create",outcome="created"} 1');
    expect(res.body).toMatch(/fanout_ofauth_requests_total\{route="[^"]+",status="200"\} 1/);
    expect(res.body).toContain('fanout_sync_tick_duration_seconds_count 1');
  });
});
