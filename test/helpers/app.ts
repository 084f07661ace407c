import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.ts';
import { ManualClock } from '../../src/clock.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { closeDatabase, openDatabase, type Db } from '../../src/db/client.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { createServices, type Services } from '../../src/services.ts';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';
export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export interface TestApp {
  app: FastifyInstance;
  db: Db;
  clock: ManualClock;
  config: Config;
  services: Services;
  /** Headers for the ADMIN_TOKEN admin. */
  admin: { authorization: string };
  close(): Promise<void>;
}

/** A fresh in-memory database with migrations applied, and an app built on it. */
export function createTestDb(path = ':memory:'): Db {
  const db = openDatabase(path);
  runMigrations(db);
  return db;
}

export async function buildTestApp(
  options: { env?: Record<string, string>; clock?: ManualClock; db?: Db } & Pick<AppDeps, 'v1Plugins' | 'rootPlugins' | 'logger'> = {},
): Promise<TestApp> {
  const clock = options.clock ?? new ManualClock(T0);
  const config = loadConfig({ ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent', ...options.env });
  const db = options.db ?? createTestDb();
  const services = createServices({ db, clock, adminToken: config.adminToken });
  const app = await buildApp({ config, db, clock, services, v1Plugins: options.v1Plugins, rootPlugins: options.rootPlugins, logger: options.logger });
  return {
    app,
    db,
    clock,
    config,
    services,
    admin: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    async close() {
      await app.close();
      closeDatabase(db);
    },
  };
}
