import type { FastifyBaseLogger } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createOfauthClient, type OfauthClient } from './ofauth/client.ts';
import { buildSimulator, type Simulator } from './ofauth/simulator/app.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import type { Services } from './services.ts';
import { createReconciler, type Reconciler } from './sync/reconciler.ts';
import { createSyncRepository, type SyncRepository } from './sync/repository.ts';
import { createSyncService, type SyncService } from './sync/service.ts';

export interface Runtime {
  client: OfauthClient;
  metrics: Metrics;
  syncRepository: SyncRepository;
  reconciler: Reconciler;
  syncScheduler: Scheduler;
  sync: SyncService;
  simulator: (Simulator & { url: string }) | null;
  /** Starts the timers (only server.ts calls this). */
  start(): void;
  /** Stops the loops (awaiting work in flight), then closes the client and the simulator. */
  stop(): Promise<void>;
}

/** Starts the in-process OFAuth simulator that sandbox mode talks to, on a loopback port. */
async function startSandboxSimulator(config: Config): Promise<Simulator & { url: string }> {
  const simulator = await buildSimulator({ sendDurationMs: config.sandbox.sendDurationMs });
  await simulator.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = simulator.app.server.address() as AddressInfo;
  return { ...simulator, url: `http://127.0.0.1:${port}` };
}

/**
 * Wires the background half of the service: the OFAuth client (pointed at OFAuth, or at the
 * built-in simulator in sandbox mode), the reconciler and its scheduler. Nothing runs until start().
 */
export async function createRuntime(deps: { config: Config; db: Db; clock: Clock; services: Services; logger: FastifyBaseLogger }): Promise<Runtime> {
  const { config, db, clock, services, logger } = deps;
  const metrics = createMetrics({ defaultMetrics: true });
  const simulator = config.mode === 'sandbox' ? await startSandboxSimulator(config) : null;
  const client = createOfauthClient({
    baseUrl: simulator?.url ?? config.ofauth.baseUrl,
    apiKey: simulator?.apiKey ?? config.ofauth.apiKey!,
    endpoints: config.ofauth.endpoints,
    timeoutMs: config.ofauth.timeoutMs,
    rateLimit: { capacity: config.ofauth.rateCapacity, refillPerSecond: config.ofauth.refillPerSecond },
    logger: logger.child({ component: 'ofauth' }),
    onRequest: (info) => {
      metrics.ofauthRequests.inc({ route: info.route, status: String(info.status ?? 0) });
      if (info.status === 429) metrics.ofauthRateLimited.inc();
    },
  });
  const syncRepository = createSyncRepository(db);
  const reconciler = createReconciler({
    db,
    repository: services.campaignRepository,
    syncRepository,
    events: services.events,
    client,
    clock,
    settings: config.sync,
    metrics,
    logger: logger.child({ component: 'sync' }),
  });
  const syncScheduler = createScheduler({
    name: 'sync',
    cron: config.sync.cron,
    clock,
    logger,
    run: (signal) => reconciler.reconcileOnce({ signal }),
    record: (run) =>
      syncRepository.recordRun({ kind: 'sync', owner: reconciler.owner, startedAt: run.startedAt, durationMs: run.durationMs, summary: run.summary as Record<string, unknown> | null, error: run.error }),
  });
  const sync = createSyncService({
    db,
    campaigns: services.campaigns,
    repository: services.campaignRepository,
    syncRepository,
    events: services.events,
    reconciler,
    clock,
    schedulerStatus: () => syncScheduler.status(),
  });

  return {
    client,
    metrics,
    syncRepository,
    reconciler,
    syncScheduler,
    sync,
    simulator,
    start() {
      syncScheduler.start();
    },
    async stop() {
      await syncScheduler.stop();
      await client.close();
      if (simulator) await simulator.app.close();
    },
  };
}
