import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../src/clock.ts';
import type { Config } from '../../src/config.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import { createFanout, type Fanout, type FanoutOptions } from '../../src/runtime.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';

/** Pino, as the server has it, with nothing written anywhere. */
export const silentLogger = (): FastifyBaseLogger => Fastify({ logger: { level: 'silent' } }).log;

/**
 * The service as server.ts wires it (the SQLite store over `db`, then createFanout), with no
 * timers started: benchmarks drive syncOnce, the reconciler and the poller by hand. The caller
 * owns stop(), which closes the client and the database too.
 */
export function benchFanout(
  options: { db: Db; config: Config; clock: Clock; logger?: FastifyBaseLogger } & Pick<FanoutOptions, 'client' | 'syncSettings' | 'statsSettings' | 'owner'>,
): Promise<Fanout> {
  const { db, config, logger, ...rest } = options;
  const store = createSqliteStore(db, { recurrenceLeadMs: config.recurrence.leadMs });
  return createFanout({ ...rest, config, store, logger: logger ?? silentLogger() });
}
