/**
 * One HTTP server for bench:api, run in a child process so it has an event loop of its own and
 * the load generator (autocannon, in the parent) does not compete with it on the same thread.
 *
 *   api-server.ts ours <dbPath|url> [logLevel]   createFanout + buildApp, as server.ts wires them, minus the loops;
 *                                                 logging to stdout at logLevel (default silent) as server.ts does
 *   api-server.ts bare <dbPath|url>              bare Fastify + better-sqlite3 (or pg): GET /campaigns/:id → the raw row
 *
 * A postgres:// URL serves that PostgreSQL database instead of a SQLite file.
 *
 * Sends { port } to the parent once listening, { cpu } (process.cpuUsage()) when sent 'cpu', and
 * closes on SIGTERM.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp, loggerOptions } from '../../src/app.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { closePostgres, openPostgres } from '../../src/db/postgres/client.ts';
import { closeDatabase, openDatabase } from '../../src/db/sqlite/client.ts';
import type { Fanout } from '../../src/runtime.ts';
import { benchFanout } from './fanout.ts';

const [mode, target, logLevel = 'silent'] = process.argv.slice(2);
if ((mode !== 'ours' && mode !== 'bare') || !target) throw new Error('usage: api-server.ts ours|bare <dbPath | postgres://url>');
const isPostgres = target.startsWith('postgres://');
// Pino on stdout with the service's redaction, as server.ts builds it for the app and the service.
const logger = () => ({ app: loggerOptions(logLevel), service: Fastify({ logger: loggerOptions(logLevel) }).log });

let app: FastifyInstance;
let fanout: Fanout | null = null;
let close: () => Promise<void>;

if (isPostgres) {
  // The pool as an instance would size it: DATABASE_POOL_SIZE's default.
  const config = loadConfig({ DATABASE_URL: target });
  if (config.database.backend !== 'postgres') throw new Error('DATABASE_URL did not select PostgreSQL');
  const pg = openPostgres({ url: target, poolSize: config.database.poolSize, statementTimeoutMs: 0, ssl: 'disable' });
  if (mode === 'ours') {
    const log = logger();
    fanout = await benchFanout({ pg, config, clock: systemClock, logger: log.service });
    app = await buildApp({ fanout, logger: log.app });
    close = async () => {};
  } else {
    // The floor: the same pool size, the same primary-key SELECT as a named (prepared) statement.
    app = Fastify();
    app.get<{ Params: { id: string } }>('/campaigns/:id', async (request, reply) => {
      const { rows } = await pg.$client.query({ name: 'campaign_by_id', text: 'SELECT * FROM campaigns WHERE id = $1', values: [request.params.id] });
      return rows[0] ?? reply.code(404).send({ error: 'not found' });
    });
    close = () => closePostgres(pg);
  }
} else {
  const db = openDatabase(target);
  if (mode === 'ours') {
    // Sandbox mode, as a server without OFAUTH_API_KEY: the built-in simulator idles, no loop starts.
    const log = logger();
    fanout = await benchFanout({ db, config: loadConfig({ DATABASE_PATH: target }), clock: systemClock, logger: log.service });
    app = await buildApp({ fanout, logger: log.app });
  } else {
    // The floor for this lookup: same file, same pragmas, same primary-key SELECT, no auth, no schemas.
    const byId = db.$client.prepare('SELECT * FROM campaigns WHERE id = ?');
    app = Fastify();
    app.get<{ Params: { id: string } }>('/campaigns/:id', async (request, reply) => {
      const row = byId.get(request.params.id);
      return row ?? reply.code(404).send({ error: 'not found' });
    });
  }
  close = async () => closeDatabase(db);
}

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send!({ port: Number(new URL(address).port) });
// CPU time is asked for around each measurement: µs of CPU per request stays comparable when
// other work on the machine steals wall-clock time from both servers.
process.on('message', (message) => {
  if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
});
process.once('SIGTERM', () => {
  void app
    .close()
    .then(() => fanout?.stop())
    .then(() => (fanout ? undefined : close()))
    .then(() => process.exit(0));
});
