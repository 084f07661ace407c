/**
 * bench:api — what the HTTP API costs over the database it reads.
 *
 * Seeds 100,000 campaigns into a temp-file database, then serves it twice, each server in a child
 * process of its own: our app (buildApp: bearer auth, zod validation and serialization, problem
 * handling, and request logging as the service ships it: pino at the default LOG_LEVEL, its stdout
 * sent to a file in the temp folder) and a bare Fastify + better-sqlite3 server, which logs
 * nothing, answering the same primary-key SELECT with the raw row. autocannon (in this process) measures, each after a short warm-up (the two GETs
 * by id alternately, in 2-second slices, so the machine's other work weighs on both alike):
 *
 *   ours GET /v1/campaigns/:id      random seeded ids
 *   bare GET /campaigns/:id         the same ids
 *   ours GET /v1/campaigns?limit=50 newest first, the list's first page
 *   ours GET /v1/campaigns?scheduledFrom=…&scheduledTo=…
 *                                   random 15-minute windows of scheduled times: a dozen matches,
 *                                   with the ten clients and again with one
 *   ours POST /v1/campaigns         a valid create (one fsync'd transaction each)
 *
 * Every campaign is one-shot; all but the drafts have their send. The query plan of the
 * scheduled-range list (as the store prepares it) shows whether it reads campaigns_scheduled_idx
 * or walks the id index until it has a page.
 *
 *   npm run bench:api [-- --rows 100000 --duration 10 --warmup 2 --connections 10 --rounds 5 --db sqlite|postgres]
 *
 * With --db postgres the seeded rows are copied into a PostgreSQL database (bench/lib/postgres.ts)
 * and both servers read it: ours through the PostgreSQL store, bare through a pg pool of the
 * same size with the SELECT as a prepared statement.
 *
 * Aims: GET by id ≥ 0.7 of bare; list p99 < 20 ms; scheduled-range list p99 < 5 ms with one client
 * (the request's own time: its plan), and < 20 ms, as any list, with the ten. A missed aim
 * prints AIM MISSED; only errors exit non-zero.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Options, type RawResult } from 'autocannon';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import type { Db } from '../src/db/sqlite/client.ts';
import { createOfauthClient } from '../src/ofauth/client.ts';
import { createSqliteStore } from '../src/store/sqlite/index.ts';
import { BENCH_CONNECTION_IDS, prng, seedApiCampaigns } from './lib/api-seed.ts';
import { explain, openTempDb, traceStatements } from './lib/db.ts';
import { benchFanout } from './lib/fanout.ts';
import { analyze, copyFromSqlite, startBenchPostgres } from './lib/postgres.ts';
import { mib, printAim, printTable, thousands } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    seed: { type: 'string', default: '20300101' },
    rounds: { type: 'string', default: '5' },
    db: { type: 'string', default: 'sqlite' },
  },
});
if (args.db !== 'sqlite' && args.db !== 'postgres') throw new Error(`--db must be sqlite or postgres, not ${args.db}`);
const BACKEND = args.db;
const ROWS = Number(args.rows);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const SEED = Number(args.seed);
/** The GET pair alternates in this many slices of DURATION_S / rounds seconds each. */
const INTERLEAVED_ROUNDS = Number(args.rounds);

const AIM_GET_RATIO = 0.7;
const AIM_LIST_P99_MS = 20;
const AIM_RANGE_P99_MS = 5;
const DAY = 86_400_000;
/** The scheduled-range list's window: a dozen matches among 100,000 campaigns over 90 days. */
const RANGE_WINDOW_MS = 15 * 60_000;
const RANGE_NAME = 'ours GET /v1/campaigns?scheduledFrom&scheduledTo';
const RANGE_ALONE_NAME = `${RANGE_NAME} (1 client)`;

/** Lines written so far to a log file (pino writes one JSON object per line, synchronously). */
const countLines = (path: string): number => readFileSync(path, 'utf8').split('\n').length - 1;

interface Server {
  url: string;
  child: ChildProcess;
}

/**
 * Forks bench/lib/api-server.ts (tsx's loader is inherited through execArgv) and waits for its
 * port. Ours logs at the service's default level, as a deployed server does, into `logPath`.
 */
function startServer(mode: 'ours' | 'bare', target: string, logPath: string): Promise<Server> {
  const logFd = openSync(logPath, 'w');
  const args = mode === 'ours' ? [mode, target, loadConfig({}).logLevel] : [mode, target];
  const child = fork(fileURLToPath(new URL('./lib/api-server.ts', import.meta.url)), args, { stdio: ['inherit', logFd, 'inherit', 'ipc'] });
  closeSync(logFd);
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ url: `http://127.0.0.1:${message.port}`, child }));
    child.once('exit', (code) => reject(new Error(`${mode} server exited with code ${code} before listening`)));
  });
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

interface Measurement {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Completed in the warm-up, which is not in the figures (but is in the server's log). */
  warmupRequests: number;
  /** Server CPU time (user + system) per completed request, in µs. */
  cpuPerRequestUs: number;
}

interface Target {
  name: string;
  server: Server;
  options: Omit<Options, 'duration' | 'connections'>;
  /** Concurrent clients; CONNECTIONS unless given. */
  connections?: number;
}

function serverCpuUs(server: Server): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: { cpu?: NodeJS.CpuUsage }) => {
      if (!message.cpu) return;
      server.child.off('message', onMessage);
      resolve(message.cpu.user + message.cpu.system);
    };
    server.child.on('message', onMessage);
    server.child.send('cpu');
  });
}

/**
 * Warms each target up, then measures them in `rounds` alternating slices of DURATION_S / rounds
 * seconds each. Targets compared by a ratio are measured interleaved so that whatever else the
 * machine does at the time slows both alike, instead of whichever happened to run second.
 * Fails loudly on anything but 2xx, since that is not the path under test.
 */
async function measure(targets: Target[], rounds: number): Promise<Measurement[]> {
  const warmups: number[] = [];
  for (const target of targets) {
    warmups.push((await autocannon({ ...target.options, connections: target.connections ?? CONNECTIONS, duration: WARMUP_S, skipAggregateResult: true })).totalCompletedRequests);
  }
  const runs = targets.map(() => ({ raws: [] as RawResult[], cpuUs: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) {
      const cpuBefore = await serverCpuUs(target.server);
      const raw = await autocannon({ ...target.options, connections: target.connections ?? CONNECTIONS, duration: DURATION_S / rounds, skipAggregateResult: true });
      runs[i]!.cpuUs += (await serverCpuUs(target.server)) - cpuBefore;
      runs[i]!.raws.push(raw);
    }
  }
  return targets.map((target, i) => {
    const { raws, cpuUs } = runs[i]!;
    const sum = (pick: (raw: RawResult) => number) => raws.reduce((total, raw) => total + pick(raw), 0);
    const failures = { non2xx: sum((r) => r.non2xx), errors: sum((r) => r.errors), timeouts: sum((r) => r.timeouts) };
    if (failures.non2xx + failures.errors + failures.timeouts > 0) throw new Error(`${target.name}: ${JSON.stringify(failures)}`);
    const requests = sum((r) => r.totalCompletedRequests);
    const { latency } = autocannon.aggregateResult(raws, { url: target.options.url, connections: target.connections ?? CONNECTIONS });
    return {
      name: target.name,
      requestsPerSecond: requests / sum((r) => r.duration),
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      requests,
      warmupRequests: warmups[i]!,
      cpuPerRequestUs: cpuUs / Math.max(1, requests),
    };
  });
}

/**
 * The scheduled-range list's SQL as the store prepares it for the API (listViews; the service
 * asks for limit + 1) and its query plan on the seeded file.
 */
async function explainRangeList(db: Db, from: number, to: number): Promise<{ sql: string; plan: string[] }> {
  const { result, statements } = traceStatements(db, () =>
    createSqliteStore(db, { recurrenceLeadMs: loadConfig({}).recurrence.leadMs }).campaigns.listViews({ connectionIds: null, scheduledFrom: from, scheduledTo: to, limit: 21 }),
  );
  await result;
  const statement = statements.find((s) => s.runs > 0 && /scheduled_at/i.test(s.sql));
  if (!statement) throw new Error('the scheduled-range list ran no statement on scheduled_at');
  // The select list names every column of both tables: shown as a count, the rest verbatim.
  const text = statement.sql.replace(/\s+/g, ' ').trim();
  const columns = /^select (.*?) from /i.exec(text)?.[1]?.split(', ').length ?? 0;
  return { sql: text.replace(/^select .*? from /i, `select <${columns} columns> from `), plan: explain(db, statement) };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  const temp = openTempDb('api');
  const random = prng(SEED);
  const seedStarted = performance.now();
  const ids = seedApiCampaigns(temp.db, ROWS, random);
  const seedMs = performance.now() - seedStarted;

  // Windows of scheduled times across the seeded range (scheduled 1 h to 7 d after creation).
  const rangeStart = systemClock.now() - 83 * DAY;
  const rangeSpan = 82 * DAY;
  const randomWindow = () => {
    const from = rangeStart + Math.floor(random() * rangeSpan);
    return { from, to: from + RANGE_WINDOW_MS };
  };
  const countInWindow = temp.db.$client.prepare('SELECT count(*) FROM campaigns WHERE scheduled_at BETWEEN ? AND ?').pluck();
  const windowCounts = Array.from({ length: 200 }, () => randomWindow()).map((w) => countInWindow.get(w.from, w.to) as number);
  const rangePlan = BACKEND === 'sqlite' ? await explainRangeList(temp.db, rangeStart + rangeSpan / 2, rangeStart + rangeSpan / 2 + RANGE_WINDOW_MS) : null;

  // A token as an admin issues one, through the service (the client is never called).
  const issuer = await benchFanout({ db: temp.db, config: loadConfig({}), clock: systemClock, client: createOfauthClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused' }) });
  const { secret } = await issuer.services.tokens.issue({ name: 'bench', role: 'admin' });
  // Fold the WAL into the main file so both servers start from the same settled database.
  temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  // On PostgreSQL both servers read a copy of the same seeded rows (the token included).
  const postgres = BACKEND === 'postgres' ? await startBenchPostgres() : null;
  let target = temp.path;
  if (postgres) {
    const copy = await postgres.createDatabase(2);
    const copyStarted = performance.now();
    await copyFromSqlite(temp.db, copy.db);
    await analyze(copy.db);
    console.log(`bench:api  copied to PostgreSQL (embedded, fsync off) in ${((performance.now() - copyStarted) / 1000).toFixed(2)} s, then VACUUM (ANALYZE)`);
    target = copy.url;
  }
  // Closes the parent's handle on the file too: from here on only the servers read it.
  await issuer.stop();

  console.log(`bench:api  ${thousands(ROWS)} campaigns seeded in ${(seedMs / 1000).toFixed(2)} s (${mib(temp.sizeBytes())}),`);
  console.log(`           autocannon: ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per target, seed ${SEED}`);

  const randomId = () => ids[Math.floor(random() * ids.length)]!;
  const auth = { authorization: `Bearer ${secret}` };
  const servers: Server[] = [];
  const measurements: Measurement[] = [];
  const oursLogPath = join(dirname(temp.path), 'ours.log');
  let logLinesPerGet = 0;
  try {
    const ours = await startServer('ours', target, oursLogPath);
    servers.push(ours);
    const bare = await startServer('bare', target, join(dirname(temp.path), 'bare.log'));
    servers.push(bare);

    // The two GETs must answer the same row, or the ratio compares different work.
    const sample = ids[0]!;
    const [ourRow, bareRow] = await Promise.all([
      fetch(`${ours.url}/v1/campaigns/${sample}`, { headers: auth }).then((r) => r.json() as Promise<{ id: string }>),
      fetch(`${bare.url}/campaigns/${sample}`).then((r) => r.json() as Promise<{ id: string }>),
    ]);
    if (ourRow.id !== sample || bareRow.id !== sample) throw new Error('the servers do not answer the seeded ids');

    // The ratio's two sides alternate in 2-second slices (see measure); the others run on their own.
    const logLinesBefore = countLines(oursLogPath);
    measurements.push(
      ...(await measure(
        [
          {
            name: 'ours GET /v1/campaigns/:id',
            server: ours,
            options: { url: ours.url, requests: [{ method: 'GET', headers: auth, setupRequest: (req) => ({ ...req, path: `/v1/campaigns/${randomId()}` }) }] },
          },
          {
            name: 'bare GET /campaigns/:id',
            server: bare,
            options: { url: bare.url, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/campaigns/${randomId()}` }) }] },
          },
        ],
        INTERLEAVED_ROUNDS,
      )),
    );
    logLinesPerGet = (countLines(oursLogPath) - logLinesBefore) / (measurements[0]!.requests + measurements[0]!.warmupRequests);
    measurements.push(...(await measure([{ name: 'ours GET /v1/campaigns?limit=50', server: ours, options: { url: `${ours.url}/v1/campaigns?limit=50`, headers: auth } }], 1)));
    const rangePath = () => {
      const { from, to } = randomWindow();
      return `/v1/campaigns?scheduledFrom=${new Date(from).toISOString()}&scheduledTo=${new Date(to).toISOString()}`;
    };
    const rangeOptions: Target['options'] = { url: ours.url, requests: [{ method: 'GET', headers: auth, setupRequest: (req) => ({ ...req, path: rangePath() }) }] };
    measurements.push(...(await measure([{ name: RANGE_NAME, server: ours, options: rangeOptions }], 1)));
    // One client: the request's own time (its plan), with nobody ahead of it on the event loop.
    measurements.push(...(await measure([{ name: RANGE_ALONE_NAME, server: ours, options: rangeOptions, connections: 1 }], 1)));
    const body = JSON.stringify({
      name: 'Bench create',
      connectionId: BENCH_CONNECTION_IDS[0],
      message: { text: 'New set drops tonight 🔥', mediaItems: [4211, 4212], price: 9.99, previewMediaCount: 1 },
      audience: { userLists: [1201], excludeUserLists: [1305] },
      scheduledAt: new Date(systemClock.now() + 7 * DAY).toISOString(),
    });
    // Last, because every request adds a row.
    measurements.push(
      ...(await measure(
        [
          {
            name: 'ours POST /v1/campaigns',
            server: ours,
            options: { url: `${ours.url}/v1/campaigns`, method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body },
          },
        ],
        1,
      )),
    );
  } finally {
    await Promise.all(servers.map(stopServer));
    await postgres?.stop();
    temp.dispose();
  }

  const byName = new Map(measurements.map((m) => [m.name, m]));
  const width = Math.max(...measurements.map((m) => m.name.length));
  printTable('results (req/s: completed requests / seconds; latency: autocannon histogram; CPU: server process per request)', [
    [
      'target'.padEnd(width),
      `${'req/s'.padStart(8)}  ${'p50'.padStart(7)}  ${'p99'.padStart(7)}  ${'requests'.padStart(9)}  ${'CPU/req'.padStart(9)}`,
    ],
    ...measurements.map((m): [string, string] => [
      m.name.padEnd(width),
      `${m.requestsPerSecond.toFixed(0).padStart(8)}  ${`${m.p50Ms} ms`.padStart(7)}  ${`${m.p99Ms} ms`.padStart(7)}  ${thousands(m.requests).padStart(9)}  ${`${m.cpuPerRequestUs.toFixed(0)} µs`.padStart(9)}`,
    ]),
  ]);

  const ourGet = byName.get('ours GET /v1/campaigns/:id')!;
  const bareGet = byName.get('bare GET /campaigns/:id')!;
  const list = byName.get('ours GET /v1/campaigns?limit=50')!;
  const range = byName.get(RANGE_NAME)!;
  const rangeAlone = byName.get(RANGE_ALONE_NAME)!;
  const sortedCounts = [...windowCounts].sort((a, b) => a - b);
  const isScheduledIndexUsed = rangePlan?.plan.some((line) => line.includes('campaigns_scheduled_idx')) ?? null;
  const ratio = ourGet.requestsPerSecond / bareGet.requestsPerSecond;
  const cpuRatio = bareGet.cpuPerRequestUs / ourGet.cpuPerRequestUs;
  console.log(`\n  ratio ours/bare, GET by id: ${ratio.toFixed(2)} (${ourGet.requestsPerSecond.toFixed(0)} / ${bareGet.requestsPerSecond.toFixed(0)} req/s, measured interleaved in ${INTERLEAVED_ROUNDS} rounds)`);
  console.log(`  same ratio by server CPU per request (bare/ours): ${cpuRatio.toFixed(2)} (${bareGet.cpuPerRequestUs.toFixed(0)} / ${ourGet.cpuPerRequestUs.toFixed(0)} µs)`);
  console.log(`  ours logs at LOG_LEVEL=${loadConfig({}).logLevel} (the default), to a file: ${logLinesPerGet.toFixed(2)} lines per GET by id; bare logs nothing`);
  console.log(
    `  scheduled-range windows: ${RANGE_WINDOW_MS / 60_000} min, matches per window median ${sortedCounts[sortedCounts.length >> 1]}, max ${sortedCounts.at(-1)} (200 sampled)`,
  );
  if (rangePlan) {
    console.log(`  scheduled-range list plan: ${rangePlan.sql}`);
    for (const line of rangePlan.plan) console.log(`      ${line}`);
  }
  console.log(`  load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} CPUs\n`);
  printAim(`GET by id at ≥ ${AIM_GET_RATIO} of bare`, ratio >= AIM_GET_RATIO, ratio.toFixed(2));
  printAim(`list (limit=50) p99 < ${AIM_LIST_P99_MS} ms at ${thousands(ROWS)} rows`, list.p99Ms < AIM_LIST_P99_MS, `${list.p99Ms} ms`);
  printAim(`scheduled-range list (few matches), one client, p99 < ${AIM_RANGE_P99_MS} ms at ${thousands(ROWS)} rows`, rangeAlone.p99Ms < AIM_RANGE_P99_MS, `${rangeAlone.p99Ms} ms`);
  printAim(`scheduled-range list, ${CONNECTIONS} clients, p99 < ${AIM_LIST_P99_MS} ms (the list aim)`, range.p99Ms < AIM_LIST_P99_MS, `${range.p99Ms} ms`);
  if (isScheduledIndexUsed !== null) printAim('scheduled-range list reads campaigns_scheduled_idx', isScheduledIndexUsed, isScheduledIndexUsed ? 'yes' : 'no (see the plan above)');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
