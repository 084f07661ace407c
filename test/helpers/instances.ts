import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import type { OfauthClient, RequestInfo } from '../../src/ofauth/client.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { createFanout, type Fanout } from '../../src/runtime.ts';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/types.ts';
import type { StatsPollerSettings } from '../../src/stats/poller.ts';
import type { SyncSettings } from '../../src/sync/reconciler.ts';
import { createTestDb, T0, TEST_ADMIN_TOKEN } from './app.ts';
import { createTestPgDatabase } from './postgres.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from './simulator.ts';

/*
 * Several Fanout instances on one database, as several server processes hold it: each its own
 * store handle (pool), OFAuth client (and so its own rate-limit buckets), runtime and app, all on
 * one manual clock and one simulator over loopback HTTP. Nothing runs on a timer; a test drives
 * each instance's lease refresh, sync tick and stats poll itself.
 */

export interface DatabaseBackend {
  name: 'sqlite' | 'postgres';
  /** A new empty, migrated database: `open` gives one more handle on it (one per instance). */
  create(): Promise<{ open(): Store; dispose(): Promise<void> }>;
}

const lifecycle = { recurrenceLeadMs: 30 * 60_000 };

export const databaseBackends: DatabaseBackend[] = [
  {
    name: 'sqlite',
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'fanout-instances-'));
      const path = join(dir, 'fanout.db');
      return {
        open: () => createSqliteStore(createTestDb(path), lifecycle),
        async dispose() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async create() {
      const database = await createTestPgDatabase();
      return { open: () => createPostgresStore(database.open(2), lifecycle), dispose: database.drop };
    },
  },
];

export interface TestInstance {
  id: string;
  fanout: Fanout;
  app: FastifyInstance;
  store: Store;
  client: OfauthClient;
  /** OFAuth requests this instance made, by connection. */
  requests: Map<string, number>;
  /** Called after each of its OFAuth requests (a test may abort a tick at some count, say). */
  onRequest: ((info: RequestInfo) => void) | null;
  held(): string[];
  holds(connectionId: string): boolean;
  refresh(): Promise<void>;
  /** A clean shutdown (SIGTERM): loops stopped, connections handed back, store closed. */
  stop(): Promise<void>;
  /** Gone without a word (SIGKILL): no hand-back; its client and store are closed for the test's sake. */
  kill(): Promise<void>;
}

export interface ClusterOptions {
  sim?: SimulatorOptions;
  /** Each instance's client bucket (default wide: 1000, 1000/s). */
  rateLimit?: { capacity: number; refillPerSecond: number };
  /**
   * The clients wait on the manual clock, moving it forward by what they wait (virtual time), so
   * a test can hold them to a bucket the simulator also counts on that clock.
   */
  isVirtualTime?: boolean;
  syncSettings?: Partial<SyncSettings>;
  statsSettings?: Partial<StatsPollerSettings>;
}

export interface Cluster {
  clock: ManualClock;
  sim: StartedSimulator;
  admin: { authorization: string };
  settings: SyncSettings;
  start(id: string): Promise<TestInstance>;
  close(): Promise<void>;
}

export const clusterSyncSettings: SyncSettings = { batch: 10, leaseMs: 120_000, lateSendMaxMs: 15 * 60_000, lateSendPolicy: 'fail', settleMs: 30_000 };

export async function startCluster(backend: DatabaseBackend, options: ClusterOptions = {}): Promise<Cluster> {
  const clock = new ManualClock(T0);
  const sim = await startSimulator({ clock, rateLimit: false, ...options.sim });
  const database = await backend.create();
  const config = loadConfig({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent' });
  const settings = { ...clusterSyncSettings, ...options.syncSettings };
  const running = new Set<TestInstance>();

  async function start(id: string): Promise<TestInstance> {
    const requests = new Map<string, number>();
    const store = database.open();
    const client = fastClientFor(sim, {
      ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
      ...(options.isVirtualTime ? { clock, sleep: async (ms: number) => clock.advance(ms) } : {}),
      onRequest: (info) => {
        const connectionId = info.connectionId;
        requests.set(connectionId, (requests.get(connectionId) ?? 0) + 1);
        instance.onRequest?.(info);
      },
    });
    const fanout = await createFanout({
      config,
      store,
      clock,
      client,
      logger: Fastify({ logger: { level: 'silent' } }).log,
      syncSettings: settings,
      statsSettings: options.statsSettings,
      owner: id,
      random: () => 0.5,
    });
    const app = await buildApp({ fanout });
    let isGone = false;
    const instance: TestInstance = {
      id,
      fanout,
      app,
      store,
      client,
      requests,
      onRequest: null,
      held: () => fanout.leases!.held(),
      holds: (connectionId) => fanout.leases!.holds(connectionId),
      refresh: () => fanout.leases!.refresh(),
      async stop() {
        if (isGone) return;
        isGone = true;
        running.delete(instance);
        await app.close();
        await fanout.stop();
      },
      async kill() {
        if (isGone) return;
        isGone = true;
        running.delete(instance);
        await app.close();
        await client.close();
        await store.close();
      },
    };
    running.add(instance);
    return instance;
  }

  return {
    clock,
    sim,
    admin: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    settings,
    start,
    async close() {
      for (const instance of [...running]) await instance.kill();
      await sim.close();
      await database.dispose();
    },
  };
}

/** Refreshes every instance's leases, in turn, `rounds` times (a new instance needs two to be seen and served). */
export async function settle(instances: TestInstance[], rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) for (const instance of instances) await instance.refresh();
}
