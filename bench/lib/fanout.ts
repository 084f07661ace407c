import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../src/clock.ts';
import type { Config } from '../../src/config.ts';
import type { PgDb } from '../../src/db/postgres/client.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import { createFanout, type Fanout, type FanoutOptions } from '../../src/runtime.ts';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';

/** Pino, as the server has it, with nothing written anywhere. */
export const silentLogger = (): FastifyBaseLogger => Fastify({ logger: { level: 'silent' } }).log;

/**
 * The service as server.ts wires it (the SQLite store over `db`, or the PostgreSQL one over `pg`,
 * then createFanout), with no
 * timers started: benchmarks drive syncOnce, the reconciler and the poller by hand. The caller
 * owns stop(), which closes the client and the database too.
 */
export function benchFanout(
  options: ({ db: Db } | { pg: PgDb }) & { config: Config; clock: Clock; logger?: FastifyBaseLogger } & Pick<FanoutOptions, 'client' | 'syncSettings' | 'statsSettings' | 'owner'>,
): Promise<Fanout> {
  const { config, logger, ...rest } = options;
  const settings = { recurrenceLeadMs: config.recurrence.leadMs };
  const store = 'pg' in options ? createPostgresStore(options.pg, settings) : createSqliteStore(options.db, settings);
  const { db: _db, pg: _pg, ...wiring } = rest as typeof rest & { db?: Db; pg?: PgDb };
  return createFanout({ ...wiring, config, store, logger: logger ?? silentLogger() });
}
