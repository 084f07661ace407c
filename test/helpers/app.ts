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
import { sqliteBackdoor, type Backdoor } from './backdoor.ts';
import { backdoorFor, openTestStore, testBackend, type TestBackend, type TestStore } from './backend.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export interface TestApp {
  app: FastifyInstance;
  /** The backend the app runs on (FANOUT_TEST_BACKEND, unless the test pinned one). */
  backend: TestBackend;
  /** SQLite's handle, for SQLite-only tests; on PostgreSQL it throws on use. Prefer `rows`. */
  db: Db;
  /** The dialect-neutral way below the store: snapshots, raw rows, states the API cannot reach. */
  rows: Backdoor;
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
  /** A SQLite database to run on: pins the app to SQLite whatever FANOUT_TEST_BACKEND says. */
  db?: Db;
  /** Overrides FANOUT_TEST_BACKEND for this app. */
  backend?: TestBackend;
  /** A store to run on instead of one on `db` (a PostgreSQL store, say); `db` is then unused. */
  store?: Store;
  logger?: FastifyServerOptions['logger'];
  v1Plugins?: AppDeps['v1Plugins'];
  rootPlugins?: AppDeps['rootPlugins'];
}

/** The store the options ask for: one given, one on a given SQLite db, or a fresh one on the run's backend. */
async function storeFor(options: TestAppOptions, config: Config): Promise<TestStore> {
  const settings = { recurrenceLeadMs: config.recurrence.leadMs };
  const none = async () => {};
  if (options.store) {
    const db = options.db ?? createTestDb();
    return { backend: options.store.backend, db, store: options.store, rows: backdoorFor(options.store, db, settings), dispose: none };
  }
  if (options.db) {
    const db = options.db;
    return { backend: 'sqlite', db, store: createSqliteStore(db, settings), rows: sqliteBackdoor(db, settings), dispose: none };
  }
  return openTestStore(options.backend ?? testBackend(), settings, () => createTestDb());
}

/**
 * The whole service wired as the server wires it (createFanout, then buildApp), on a fresh
 * database of the run's backend (in-memory SQLite, or a PostgreSQL copy of the migrated
 * template: see ./backend.ts), with a manual clock and no timers running. `close` stops the app
 * and drops its database, even when a step of the teardown fails.
 */
export async function buildTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const clock = options.clock ?? new ManualClock(T0);
  const config = loadConfig({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent', ...options.env });
  const { backend, db, store, rows, dispose } = await storeFor(options, config);
  let fanout: Fanout | undefined;
  let app: FastifyInstance | undefined;
  try {
    fanout = await createFanout({
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
    app = await buildApp({ fanout, logger: options.logger, v1Plugins: options.v1Plugins, rootPlugins: options.rootPlugins });
  } catch (error) {
    await (fanout ? fanout.stop() : store.close()).catch(() => {});
    await dispose();
    throw error;
  }
  const built = { app, fanout };
  return {
    app,
    backend,
    db,
    rows,
    store,
    fanout,
    clock,
    config,
    services: fanout.services,
    admin: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    async close() {
      try {
        await built.app.close();
      } finally {
        try {
          await built.fanout.stop();
        } finally {
          await dispose();
        }
      }
    },
  };
}
