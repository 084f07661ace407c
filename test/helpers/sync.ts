import { ManualClock } from '../../src/clock.ts';
import type { Metrics } from '../../src/metrics.ts';
import type { OfauthClient, OfauthClientOptions } from '../../src/ofauth/client.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import type { Store } from '../../src/store/types.ts';
import { createReconciler, type Reconciler, type SyncSettings } from '../../src/sync/reconciler.ts';
import { buildTestApp, T0, type TestApp } from './app.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from './simulator.ts';

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
  settings: SyncSettings;
  /** The app's own reconciler (owner 'test-owner'): the one POST /v1/campaigns/:id/sync runs. */
  reconciler: Reconciler;
  /** Another reconciler (own owner id) on the same database, for lease tests. */
  makeReconciler(overrides?: { owner?: string; client?: OfauthClient; store?: Pick<Store, 'sends' | 'connections'> }): Reconciler;
}

/**
 * The app, a reconciler and the OFAuth simulator over real loopback HTTP, sharing one manual
 * clock (so the simulator's createdAt and the reconciler's attempt times agree). The client's
 * rate limiter runs on real time and the simulator's bucket is off unless a test turns it on.
 */
export async function buildSyncHarness(
  options: { sim?: SimulatorOptions; settings?: Partial<SyncSettings>; retryAttempts?: number; client?: Partial<OfauthClientOptions>; env?: Record<string, string> } = {},
): Promise<SyncHarness> {
  const clock = new ManualClock(T0);
  const sim = await startSimulator({ clock, rateLimit: false, ...options.sim });
  const settings = { ...defaultSyncSettings, ...options.settings };
  // The app owns the metrics; the client is built first, so it reports through a late binding.
  let metrics: Metrics | null = null;
  const client = fastClientFor(sim, {
    retry: { maxAttempts: options.retryAttempts ?? 1, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 },
    onRequest: (info) => metrics?.ofauthRequests.inc({ route: info.route, status: String(info.status ?? 0) }),
    ...options.client,
  });
  const test = await buildTestApp({ clock, client, syncSettings: settings, owner: 'test-owner', random: () => 0.5, env: options.env });
  metrics = test.fanout.metrics;
  const makeReconciler = (overrides: { owner?: string; client?: OfauthClient; store?: Pick<Store, 'sends' | 'connections'> } = {}) =>
    createReconciler({
      store: overrides.store ?? test.store,
      client: overrides.client ?? client,
      clock,
      settings,
      owner: overrides.owner,
      random: () => 0.5,
      metrics: test.fanout.metrics,
    });

  return {
    ...test,
    sim,
    client,
    metrics: test.fanout.metrics,
    settings,
    reconciler: test.fanout.reconciler,
    makeReconciler,
    async close() {
      // Closes the client too (the app's composition root owns it).
      await test.close();
      await sim.close();
    },
  };
}
