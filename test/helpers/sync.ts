import { ManualClock } from '../../src/clock.ts';
import { createMetrics, metricsRoute, type Metrics } from '../../src/metrics.ts';
import { createOfauthClient, type OfauthClient } from '../../src/ofauth/client.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { createReconciler, type Reconciler, type SyncSettings } from '../../src/sync/reconciler.ts';
import { createSyncRepository, type SyncRepository } from '../../src/sync/repository.ts';
import { createSyncService } from '../../src/sync/service.ts';
import { syncRoutes } from '../../src/sync/routes.ts';
import { createServices } from '../../src/services.ts';
import { buildTestApp, createTestDb, T0, type TestApp } from './app.ts';
import { startSimulator, type StartedSimulator } from './simulator.ts';

export const defaultSyncSettings: SyncSettings = {
  batch: 10,
  leaseMs: 120_000,
  lateSendMaxMs: 15 * 60_000,
  lateSendPolicy: 'fail',
  settleMs: 30_000,
};

export interface SyncHarness extends TestApp {
  sim: StartedSimulator;
  client: OfauthClient;
  metrics: Metrics;
  syncRepository: SyncRepository;
  reconciler: Reconciler;
  /** Another reconciler (own owner id) on the same database, for lease tests. */
  makeReconciler(overrides?: { owner?: string; client?: OfauthClient }): Reconciler;
}

/**
 * The app, a reconciler and the OFAuth simulator over real loopback HTTP, sharing one manual
 * clock (so the simulator's createdAt and the reconciler's attempt times agree). The client's
 * rate limiter runs on real time and the simulator's bucket is off unless a test turns it on.
 */
export async function buildSyncHarness(
  options: { sim?: SimulatorOptions; settings?: Partial<SyncSettings>; retryAttempts?: number } = {},
): Promise<SyncHarness> {
  const clock = new ManualClock(T0);
  const sim = await startSimulator({ clock, rateLimit: false, ...options.sim });
  const settings = { ...defaultSyncSettings, ...options.settings };
  const metrics = createMetrics();
  const client = createOfauthClient({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    timeoutMs: 5_000,
    rateLimit: { capacity: 1_000, refillPerSecond: 1_000 },
    retry: { maxAttempts: options.retryAttempts ?? 1, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 },
    onRequest: (info) => metrics.ofauthRequests.inc({ route: info.route, status: String(info.status ?? 0) }),
  });
  const db = createTestDb();
  const services = createServices({ db, clock, adminToken: null });
  const syncRepository = createSyncRepository(db);
  const makeReconciler = (overrides: { owner?: string; client?: OfauthClient } = {}) =>
    createReconciler({
      db,
      repository: services.campaignRepository,
      syncRepository,
      events: services.events,
      client: overrides.client ?? client,
      clock,
      settings,
      owner: overrides.owner,
      random: () => 0.5,
      metrics,
    });
  const reconciler = makeReconciler({ owner: 'test-owner' });
  const sync = createSyncService({
    db,
    campaigns: services.campaigns,
    repository: services.campaignRepository,
    syncRepository,
    events: services.events,
    reconciler,
    clock,
  });
  const withRoutes = await buildTestApp({ clock, db, v1Plugins: [syncRoutes(sync)], rootPlugins: [metricsRoute(metrics)] });

  return {
    ...withRoutes,
    sim,
    client,
    metrics,
    syncRepository,
    reconciler,
    makeReconciler,
    async close() {
      await withRoutes.close();
      await client.close();
      await sim.close();
    },
  };
}
