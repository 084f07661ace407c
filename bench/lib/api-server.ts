/**
 * One HTTP server for bench:api, run in a child process so it has an event loop of its own and
 * the load generator (autocannon, in the parent) does not compete with it on the same thread.
 *
 *   api-server.ts ours <dbPath>   createFanout + buildApp, as server.ts wires them, minus logging and loops
 *   api-server.ts bare <dbPath>   bare Fastify + better-sqlite3: GET /campaigns/:id → the raw row
 *
 * Sends { port } to the parent once listening, { cpu } (process.cpuUsage()) when sent 'cpu', and
 * closes on SIGTERM.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { systemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { closeDatabase, openDatabase } from '../../src/db/sqlite/client.ts';
import type { Fanout } from '../../src/runtime.ts';
import { benchFanout } from './fanout.ts';

const [mode, dbPath] = process.argv.slice(2);
if ((mode !== 'ours' && mode !== 'bare') || !dbPath) throw new Error('usage: api-server.ts ours|bare <dbPath>');

const db = openDatabase(dbPath);
let app: FastifyInstance;
let fanout: Fanout | null = null;

if (mode === 'ours') {
  // Sandbox mode, as a server without OFAUTH_API_KEY: the built-in simulator idles, no loop starts.
  fanout = await benchFanout({ db, config: loadConfig({ DATABASE_PATH: dbPath, LOG_LEVEL: 'silent' }), clock: systemClock });
  app = await buildApp({ fanout });
} else {
  // The floor for this lookup: same file, same pragmas, same primary-key SELECT, no auth, no schemas.
  const byId = db.$client.prepare('SELECT * FROM campaigns WHERE id = ?');
  app = Fastify();
  app.get<{ Params: { id: string } }>('/campaigns/:id', async (request, reply) => {
    const row = byId.get(request.params.id);
    return row ?? reply.code(404).send({ error: 'not found' });
  });
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
    .then(() => {
      closeDatabase(db);
      process.exit(0);
    });
});
