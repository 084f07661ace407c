import Fastify from 'fastify';
import { buildApp, loggerOptions } from './app.ts';
import { systemClock } from './clock.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createFanout } from './runtime.ts';
import { describeDatabase, openStore } from './store/open.ts';
import type { Store } from './store/types.ts';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** Process entry: config, database, migrations, app, background loops, graceful shutdown. */
async function main(): Promise<void> {
  const config = readConfig();
  // Pino on its own first, so start-up lines (mode, sandbox URL) come out before the app exists.
  const logger = Fastify({ logger: loggerOptions(config.logLevel) }).log;
  if (config.mode === 'sandbox') {
    logger.warn('SANDBOX MODE: no OFAUTH_API_KEY set, so campaigns go to the built-in OFAuth simulator, never to real fans');
  } else {
    logger.info({ baseUrl: config.ofauth.baseUrl, endpoints: config.ofauth.endpoints }, 'live mode: syncing with OFAuth');
  }

  if (config.session.isEphemeral) {
    logger.warn('no SESSION_SECRET: the dashboard seals its sessions with a random key made for this start, so signing in again is needed after a restart');
  } else if (config.session.secret === null) {
    logger.warn('no SESSION_SECRET: the dashboard is not served (set it to a random string of at least 32 characters)');
  }

  const database = describeDatabase(config.database);
  let store: Store;
  try {
    store = await openStore(config.database, { recurrenceLeadMs: config.recurrence.leadMs }, {
      onIdleError: (error) => logger.warn({ err: error }, 'database connection lost; the pool opens another'),
    });
  } catch (error) {
    logger.fatal({ err: error, backend: config.database.backend, database }, 'cannot open the database or apply its migrations');
    process.exit(1);
  }
  logger.info({ backend: store.backend, database }, 'database ready, migrations applied');
  const fanout = await createFanout({ config, store, clock: systemClock, logger, defaultMetrics: true });
  if (fanout.simulator) logger.info({ simulator: fanout.simulator.url, connectionId: fanout.simulator.connectionId }, 'OFAuth simulator started');

  const app = await buildApp({ fanout, logger: loggerOptions(config.logLevel) });
  app.addHook('onClose', async () => {
    await fanout.stop();
  });

  // Registered before listening: a signal that arrives during start-up still closes cleanly.
  let isClosing = false;
  const shutdown = (signal: string) => {
    if (isClosing) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    isClosing = true;
    logger.info({ signal }, 'shutting down: no new claims, finishing work in flight');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const sandboxSecret = config.mode === 'sandbox' ? await fanout.services.tokens.ensureSandboxAdmin() : null;
  const address = await app.listen({ host: config.host, port: config.port });
  if (sandboxSecret) {
    // Printed once, on the first sandbox start, straight to the terminal and never through the
    // logger, so it does not end up in log files. Only its hash is stored.
    process.stdout.write(`\n  Sandbox admin token (shown once; only its hash is stored):\n    ${sandboxSecret}\n\n`);
  }
  logger.info({ docs: `${address}/docs`, dashboard: config.session.secret === null ? null : `${address}/` }, 'Fanout is listening; Swagger UI at /docs');
  if (!isClosing) fanout.start();
}

void main();
