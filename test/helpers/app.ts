import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';
import { createOfauthClient, type OfauthClient } from '../../src/ofauth/client.ts';
import { createFanout, type Fanout, type FanoutOptions, type Services } from '../../src/runtime.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/types.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  store: Store;
  fanout: Fanout;
  clock: ManualClock;
  config: Config;
  services: Services;
  /** Headers for the ADMIN_TOKEN admin. */
  admin: { authorization: string };
  close(): Promise<void>;
}

/** A fresh in-memory database with migrations applied. */
export function createTestDb(path = ':memory:'): Db {
  const db = openDatabase(path);
  runMigrations(db);
  return db;
}

/** A client for apps whose tests never reach OFAuth: it points at a port nothing listens on. */
function unreachableClient(): OfauthClient {
  return createOfauthClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused', timeoutMs: 1_000, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 100 } });
}

export interface TestAppOptions extends Pick<FanoutOptions, 'client' | 'syncSettings' | 'statsSettings' | 'owner' | 'random'> {
  env?: Record<string, string>;
  clock?: ManualClock;
  db?: Db;
  /** A store to run on instead of one on `db` (a PostgreSQL store, say); `db` is then unused. */
  store?: Store;
  logger?: FastifyServerOptions['logger'];
  v1Plugins?: AppDeps['v1Plugins'];
  rootPlugins?: AppDeps['rootPlugins'];
}

/**
 * The whole service wired as the server wires it (createFanout, then buildApp), on a fresh
 * in-memory database, with a manual clock and no timers running.
 */
export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const clock = options.clock ?? new ManualClock(T0);
  const config = loadConfig({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent', ...options.env });
  const db = options.db ?? createTestDb();
  const store = options.store ?? createSqliteStore(db, { recurrenceLeadMs: config.recurrence.leadMs });
  const fanout = await createFanout({
    config,
    store,
    clock,
    logger: Fastify({ logger: { level: 'silent' } }).log,
    client: options.client ?? unreachableClient(),
    syncSettings: options.syncSettings,
    statsSettings: options.statsSettings,
    owner: options.owner,
    random: options.random,
  });
  const app = await buildApp({ fanout, logger: options.logger, v1Plugins: options.v1Plugins, rootPlugins: options.rootPlugins });
  return {
    app,
    db,
    store,
    fanout,
    clock,
    config,
    services: fanout.services,
    admin: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    async close() {
      await app.close();
      await fanout.stop();
    },
  };
}
