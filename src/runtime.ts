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
import { cronIntervalMs } from './stats/budget.ts';
import { createStatsPoller, type StatsPoller } from './stats/poller.ts';
import { createStatsRepository } from './stats/repository.ts';
import { createStatsService, type StatsService } from './stats/service.ts';
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
  statsPoller: StatsPoller;
  statsScheduler: Scheduler;
  stats: StatsService;
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
 * built-in simulator in sandbox mode), the reconciler and the stats poller, each with its scheduler.
 * Nothing runs until start().
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
    isIdle: (summary) => summary.claimed === 0,
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
  const statsRepository = createStatsRepository(db);
  const statsPoller = createStatsPoller({
    db,
    repository: services.campaignRepository,
    statsRepository,
    events: services.events,
    client,
    clock,
    // The same client (and so the same per-connection bucket) as the reconciler: the poller
    // measures what is left of it before each page.
    settings: {
      budget: config.stats.budget,
      trackDays: config.stats.trackDays,
      cycleMs: await cronIntervalMs(config.stats.cron),
      rateCapacity: config.ofauth.rateCapacity,
      refillPerSecond: config.ofauth.refillPerSecond,
    },
    metrics,
    logger: logger.child({ component: 'stats' }),
  });
  const statsScheduler = createScheduler({
    name: 'stats',
    cron: config.stats.cron,
    clock,
    logger,
    run: (signal) => statsPoller.pollOnce({ signal }),
    isIdle: (summary) => summary.requests === 0,
    record: (run) =>
      syncRepository.recordRun({ kind: 'stats', owner: reconciler.owner, startedAt: run.startedAt, durationMs: run.durationMs, summary: run.summary as Record<string, unknown> | null, error: run.error }),
  });
  const stats = createStatsService({ campaigns: services.campaigns, statsRepository, clock });

  return {
    client,
    metrics,
    syncRepository,
    reconciler,
    syncScheduler,
    sync,
    statsPoller,
    statsScheduler,
    stats,
    simulator,
    start() {
      syncScheduler.start();
      statsScheduler.start();
    },
    async stop() {
      await Promise.all([syncScheduler.stop(), statsScheduler.stop()]);
      await client.close();
      if (simulator) await simulator.app.close();
    },
  };
}
