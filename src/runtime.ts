import type { FastifyBaseLogger } from 'fastify';
import type { AddressInfo } from 'node:net';
import { createListCatalog } from './audience/list-catalog.ts';
import { findOverlaps, toOverlapView } from './audience/overlaps.ts';
import { createAudienceService, type AudienceService } from './audience/service.ts';
import { materialiseFollowUps } from './sync/follow-up-materialise.ts';
import { materializeDueSeries } from './campaigns/series.ts';
import { createCampaignService, type CampaignService } from './campaigns/service.ts';
import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import { createConnectionLeases, newInstanceId, thisInstance, type ConnectionLeases } from './instances/connection-leases.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createOfauthClient, type OfauthClient } from './ofauth/client.ts';
import type { Simulator } from './ofauth/simulator/app.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { createSendActions } from './sends/actions.ts';
import { createSendService, type SendService } from './sends/service.ts';
import { cronIntervalMs } from './stats/budget.ts';
import { createStatsPoller, type StatsPoller, type StatsPollerSettings } from './stats/poller.ts';
import { createStatsService, type StatsService } from './stats/service.ts';
import type { Store } from './store/types.ts';
import { occurrenceLateMaxMs } from './sync/fingerprint.ts';
import { createReconciler, type ReconcileSummary, type Reconciler, type SyncSettings } from './sync/reconciler.ts';
import { createSyncService, type SyncService } from './sync/service.ts';
import { createTokenService, type TokenService } from './tokens/service.ts';

/** What the HTTP layer calls. */
export interface Services {
  campaigns: CampaignService;
  audience: AudienceService;
  sends: SendService;
  tokens: TokenService;
  sync: SyncService;
  stats: StatsService;
}

/** The whole service, wired once: what server.ts runs, and what tests and benchmarks build. */
export interface Fanout {
  config: Config;
  store: Store;
  clock: Clock;
  services: Services;
  client: OfauthClient;
  metrics: Metrics;
  reconciler: Reconciler;
  statsPoller: StatsPoller;
  /** This instance's connection leases (null when the options turned them off). */
  leases: ConnectionLeases | null;
  /** One sync tick as the scheduler runs it: materialise due series, then reconcile. */
  syncOnce(options?: { signal?: AbortSignal; campaignId?: string }): Promise<ReconcileSummary & { seriesSends: number; followUpSends: number }>;
  syncScheduler: Scheduler;
  statsScheduler: Scheduler;
  simulator: (Simulator & { url: string }) | null;
  /** Starts the timers (only server.ts calls this). */
  start(): void;
  /**
   * Stops the loops (awaiting work in flight), hands this instance's connections back, then
   * closes the client, the simulator and the store.
   */
  stop(): Promise<void>;
}

export interface FanoutOptions {
  config: Config;
  store: Store;
  clock: Clock;
  logger: FastifyBaseLogger;
  /** An OFAuth client to use instead of one built from config (tests point it at a simulator). */
  client?: OfauthClient;
  /** Overrides of the sync and stats settings config gives (tests and benchmarks). */
  syncSettings?: Partial<SyncSettings>;
  statsSettings?: Partial<StatsPollerSettings>;
  /** This instance's id and lease owner, for connections and sends (default: host, pid and a random part; INSTANCE_ID for connections). */
  owner?: string;
  /**
   * Lease connections between instances (default true). Off, every instance works every
   * connection and only the per-send leases keep them apart (a test of those alone).
   */
  connectionLeases?: boolean;
  random?: () => number;
  /** Collect default process metrics (the server does; tests don't, as prom-client's registry is global). */
  defaultMetrics?: boolean;
}

/** Starts the in-process OFAuth simulator that sandbox mode talks to, on a loopback port. */
async function startSandboxSimulator(config: Config): Promise<Simulator & { url: string }> {
  // Loaded only in sandbox mode: a live server never holds the simulator's code.
  const { buildSimulator } = await import('./ofauth/simulator/app.ts');
  const simulator = await buildSimulator({ sendDurationMs: config.sandbox.sendDurationMs, unsendWindowMs: config.ofauth.unsendWindowMs });
  await simulator.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = simulator.app.server.address() as AddressInfo;
  return { ...simulator, url: `http://127.0.0.1:${port}` };
}

function clientFromConfig(config: Config, baseUrl: string, apiKey: string, metrics: Metrics, logger: FastifyBaseLogger): OfauthClient {
  return createOfauthClient({
    baseUrl,
    apiKey,
    endpoints: config.ofauth.endpoints,
    timeoutMs: config.ofauth.timeoutMs,
    rateLimit: { capacity: config.ofauth.rateCapacity, refillPerSecond: config.ofauth.refillPerSecond },
    logger: logger.child({ component: 'ofauth' }),
    onRequest: (info) => {
      metrics.ofauthRequests.inc({ route: info.route, status: String(info.status ?? 0) });
      if (info.status === 429) metrics.ofauthRateLimited.inc();
    },
  });
}

/**
 * The one composition root: services over the store, the OFAuth client (pointed at OFAuth, at
 * the built-in simulator in sandbox mode, or at what the caller passes), the reconciler, the
 * series materialiser and the stats poller, each loop with its scheduler. Nothing runs until
 * start().
 */
export async function createFanout(options: FanoutOptions): Promise<Fanout> {
  const { config, store, clock, logger } = options;
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? false });
  const simulator = options.client || config.mode !== 'sandbox' ? null : await startSandboxSimulator(config);
  const client = options.client ?? clientFromConfig(config, simulator?.url ?? config.ofauth.baseUrl, simulator?.apiKey ?? config.ofauth.apiKey!, metrics, logger);

  // The connection leases are made below; a create's list check asks them through this late binding.
  let leases: ConnectionLeases | null = null;
  const catalog = createListCatalog({
    client,
    clock,
    connections: store.connections,
    ttlMs: config.audience.listsCacheTtlMs,
    maySpend: async (connectionId) => leases === null || leases.maySpend(connectionId),
  });
  const campaigns = createCampaignService({
    campaigns: store.campaigns,
    clock,
    settings: { minIntervalMs: config.recurrence.minIntervalMs, unsendWindowMs: config.ofauth.unsendWindowMs, followUpMinAfterMs: config.followUps.minAfterMs },
    audience: {
      findUnknownLists: (connectionId, ids) => catalog.findUnknown(connectionId, ids),
      findOverlaps: async (subject) => (await findOverlaps(store.campaigns, subject, config.audience.overlapWindowMs)).map(toOverlapView),
    },
  });
  const tokens = createTokenService({ tokens: store.tokens, clock, adminToken: config.adminToken });
  const baseSync: SyncSettings = {
    ...config.sync,
    audienceResolveLeadMs: config.audience.resolveLeadMs,
    audienceMaxFans: config.audience.maxFans,
    ...options.syncSettings,
  };
  // The sync and the materialiser hold a late occurrence to the same limit.
  const lateOccurrenceMs = baseSync.occurrenceLateMaxMs ?? occurrenceLateMaxMs(baseSync.lateSendMaxMs, config.recurrence.minIntervalMs);
  const syncSettings: SyncSettings = { ...baseSync, occurrenceLateMaxMs: lateOccurrenceMs };
  // Send leases always get a per-process owner; the connection leases may use a stable
  // INSTANCE_ID, so a restarted instance renews its own connections at once.
  const owner = options.owner ?? newInstanceId();
  const instanceId = options.owner ?? config.instanceId ?? owner;
  leases =
    options.connectionLeases === false
      ? null
      : createConnectionLeases({
          store,
          clock,
          leaseMs: syncSettings.leaseMs,
          instance: thisInstance(instanceId, clock.now()),
          logger: logger.child({ component: 'leases' }),
          onTakeover: (connectionId) => client.assumeSpent(connectionId),
        });
  const reconciler = createReconciler({
    store,
    client,
    clock,
    settings: syncSettings,
    owner,
    leases: leases ?? undefined,
    random: options.random,
    metrics,
    logger: logger.child({ component: 'sync' }),
  });
  const seriesSettings = { leadMs: config.recurrence.leadMs, lateSendMaxMs: lateOccurrenceMs };
  async function syncOnce(runOptions: { signal?: AbortSignal; campaignId?: string } = {}) {
    const materialized = await materializeDueSeries({ campaigns: store.campaigns, now: () => clock.now(), settings: seriesSettings });
    const followUpSends = await materialiseFollowUps({ sends: store.sends, clock });
    const summary = await reconciler.reconcileOnce(runOptions);
    return { ...summary, seriesSends: materialized.sends, followUpSends };
  }
  const record = (kind: 'sync' | 'stats') => (run: { startedAt: number; durationMs: number; summary: object | null; error: string | null }) =>
    store.runs.record({ kind, owner: reconciler.owner, startedAt: run.startedAt, durationMs: run.durationMs, summary: run.summary as Record<string, unknown> | null, error: run.error });
  const syncScheduler = createScheduler({
    name: 'sync',
    cron: config.sync.cron,
    clock,
    logger,
    run: (signal) => syncOnce({ signal }),
    isIdle: (summary) => summary.claimed === 0 && summary.seriesSends === 0 && summary.followUpSends === 0,
    record: record('sync'),
  });
  const statsPoller = createStatsPoller({
    store,
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
      ...options.statsSettings,
    },
    metrics,
    leases: leases ?? undefined,
    logger: logger.child({ component: 'stats' }),
  });
  const statsScheduler = createScheduler({
    name: 'stats',
    cron: config.stats.cron,
    clock,
    logger,
    run: (signal) => statsPoller.pollOnce({ signal }),
    isIdle: (summary) => summary.requests === 0,
    record: record('stats'),
  });
  const services: Services = {
    campaigns,
    audience: createAudienceService({
      store,
      catalog,
      campaigns,
      clock,
      settings: { overlapWindowMs: config.audience.overlapWindowMs, resolveLeadMs: config.audience.resolveLeadMs },
    }),
    tokens,
    sends: createSendService({
      campaigns,
      store: store.campaigns,
      actions: createSendActions({
        campaigns: store.campaigns,
        sends: store.sends,
        clock,
        testSendAllowlist: config.testSend.allowlist,
        runSend: (sendId) => reconciler.reconcileOnce({ sendId }),
      }),
    }),
    sync: createSyncService({ campaigns, store, reconciler, syncOnce, clock, schedulerStatus: () => syncScheduler.status(), instanceTtlMs: leases?.ttlMs ?? syncSettings.leaseMs }),
    stats: createStatsService({ campaigns, store, clock }),
  };

  return {
    config,
    store,
    clock,
    services,
    client,
    metrics,
    reconciler,
    statsPoller,
    leases,
    syncOnce,
    syncScheduler,
    statsScheduler,
    simulator,
    start() {
      leases?.start();
      syncScheduler.start();
      statsScheduler.start();
    },
    async stop() {
      await Promise.all([syncScheduler.stop(), statsScheduler.stop()]);
      // No lane or poll runs now: the connections go back at once, not when their leases expire.
      try {
        await leases?.stop();
      } catch (error) {
        logger.warn({ err: error }, 'could not hand the connections back; another instance takes them when their leases expire');
      }
      await client.close();
      if (simulator) await simulator.app.close();
      await store.close();
    },
  };
}
