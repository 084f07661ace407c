/**
 * bench:memory — the server's resident memory with a million sends on file.
 *
 * Runs the real server as a child process (`node <flags> --import tsx src/server.ts`, i.e. what
 * `npm start` runs, with the node flags its script gives, without tsx's wrapper process, so the
 * pid measured is the server's; `--server built`: `node <flags> dist/server.js`, as
 * `npm run start:built` runs it) in live mode against the OFAuth simulator (a worker thread here, OFAUTH_BASE_URL pointing at
 * it), with fast SYNC_CRON and STATS_CRON so several cycles run, on a pre-seeded temp file:
 *
 *   baseline   an empty (migrated) database
 *   tracked    1,000,000 one-shot campaigns with their sends on 100 connections: 10,000 queued
 *              with a remote id (the poller follows them), the rest sent two months ago
 *   all        the same 1,000,000, all queued with a remote id: every send is followed
 *
 * The simulator holds a queued message for every followed send, so the poller finds them as it
 * pages. In each run: wait until the server answers, let it run at least SYNC_CYCLES sync and
 * STATS_CYCLES stats cycles (counted in its runs table), send 300 list requests
 * (GET /v1/campaigns?limit=50, ten walkers paging by cursor), wait for one more stats cycle,
 * then read the final RSS. RSS comes from /proc/<pid>/status every 250 ms (VmRSS), with the
 * kernel's high-water mark (VmHWM) as the peak.
 *
 *   npm run bench:memory [-- --sends 1000000 --connections 100 --tracked 10000 --lists 300 --only baseline,tracked,all
 *                            --server tsx|built --node-flags=…]
 *
 * `--node-flags` adds flags after the shipped ones (a later flag wins), to try tuning.
 *
 * Aims: peak RSS ≤ 150 MB with 10,000 followed, < 300 MB with all 1,000,000 (MB = 10^6 bytes).
 * A missed aim prints AIM MISSED; only errors exit non-zero.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { systemClock } from '../src/clock.ts';
import { closeDatabase } from '../src/db/sqlite/client.ts';
import { atRest, audienceOf, seedCampaigns } from './lib/campaigns.ts';
import { openTempDb, type TempDb } from './lib/db.ts';
import { mib, printAim, printTable, seconds, thousands } from './lib/report.ts';
import { startSimulatorThread, type SimulatorThread } from './lib/simulator.ts';

const { values: args } = parseArgs({
  options: {
    sends: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '100' },
    tracked: { type: 'string', default: '10000' },
    lists: { type: 'string', default: '300' },
    'sync-cycles': { type: 'string', default: '5' },
    'stats-cycles': { type: 'string', default: '3' },
    'timeout-s': { type: 'string', default: '900' },
    only: { type: 'string', default: 'baseline,tracked,all' },
    'node-flags': { type: 'string', default: '' },
    server: { type: 'string', default: 'tsx' },
  },
});
const SENDS = Number(args.sends);
const CONNECTIONS = Number(args.connections);
const TRACKED = Number(args.tracked);
const LIST_REQUESTS = Number(args.lists);
const SYNC_CYCLES = Number(args['sync-cycles']);
const STATS_CYCLES = Number(args['stats-cycles']);
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
/** Extra flags for the server's node (e.g. --max-semi-space-size=2), to try tuning against the same data. */
const NODE_FLAGS = args['node-flags'].split(' ').filter(Boolean);
if (args.server !== 'tsx' && args.server !== 'built') throw new Error(`--server must be tsx or built, got ${JSON.stringify(args.server)}`);
/**
 * `tsx`: src/server.ts as `npm start` runs it; `built`: dist/server.js as `npm run start:built`
 * runs it (run `npm run build` first). Either with the node flags that script gives, read from
 * package.json, so the server measured is the one shipped.
 */
const SERVER = args.server === 'built' ? shippedServer('start:built', 'node', 'dist/server.js', []) : shippedServer('start', 'tsx', 'src/server.ts', ['--import', 'tsx']);
const LIST_WALKERS = 10;
const LIST_ID = 7001;
const DAY = 86_400_000;
const SAMPLE_MS = 250;
const ADMIN_TOKEN = 'bench-memory-admin-token-0001';
const SYNC_CRON = '*/2 * * * * *';
const STATS_CRON = '*/10 * * * * *';
const MB = 1e6;
const AIM_TRACKED_BYTES = 150 * MB;
const AIM_ALL_BYTES = 300 * MB;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const megabytes = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/**
 * How package.json's `script` runs `entry` (`<runner> [node flags] <entry>`): its node flags, and
 * what follows them (`loader`, tsx's, which the tsx CLI adds itself, then the entry). Throws when the
 * script has another shape, so the benchmark cannot drift from what ships.
 */
function shippedServer(script: string, runner: string, entry: string, loader: string[]): { flags: string[]; entry: string[] } {
  const scripts = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const [first, ...rest] = (scripts[script] ?? '').trim().split(/\s+/);
  const flags = rest.slice(0, -1);
  if (first !== runner || rest.at(-1) !== entry || flags.some((f) => !f.startsWith('--'))) {
    throw new Error(`package.json's ${script} script is ${JSON.stringify(scripts[script])}; bench:memory expects "${runner} [--node-flags] ${entry}"`);
  }
  return { flags, entry: [...loader, entry] };
}

interface Scenario {
  name: string;
  sends: number;
  tracked: number;
}

/** V8's heap and the memory it accounts outside it, as the server's own /metrics reports them. */
interface HeapReading {
  heapUsed: number;
  heapTotal: number;
  external: number;
}

interface RunResult {
  scenario: Scenario;
  seedMs: number;
  fileBytes: number;
  readyMs: number;
  readyRss: number;
  peakRss: number;
  /** Peak RSS (VmHWM) over the whole run, and per phase when the kernel let us reset it. */
  hwm: number;
  phasePeaks: Array<[string, number]> | null;
  /** At the end of each phase; RSS minus heap total and external is mostly native (SQLite, malloc, code). */
  heaps: Array<[string, HeapReading]>;
  finalRss: number;
  /** The server's CPU time (user + system) from its start to the final reading: what GC settings cost. */
  cpuMs: number;
  samples: number;
  runs: { sync: number; stats: number };
  lastStats: Record<string, unknown> | null;
  listMs: number;
  listItems: number;
  logLines: { warn: number; error: number; other: number; samples: string[] };
  wallMs: number;
}

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** User plus system CPU time a process has used, in ms (Linux counts it in 100 Hz ticks). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Resets the process's VmHWM to its current RSS (clear_refs "5"), so the next reading is the
 * peak of the phase since. False when the kernel refuses (then only the whole-run peak is known).
 */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function readHeap(baseUrl: string): Promise<HeapReading> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { heapUsed: value('nodejs_heap_size_used_bytes'), heapTotal: value('nodejs_heap_size_total_bytes'), external: value('nodejs_external_memory_bytes') };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Which sends the poller follows: whole rows of `connections` consecutive sends (one per
 * connection, as sends are dealt round-robin), every `stride`-th row, so they spread evenly over
 * the connections. Each is queued for the coming month with a remote id the simulator holds
 * (its k-th seeded message); the columns are what the simulator thread seeds.
 */
function planFollowed(scenario: Scenario, connectionIds: string[], now: number) {
  const width = connectionIds.length;
  const stride = scenario.tracked === 0 ? 0 : Math.max(1, Math.floor(scenario.sends / scenario.tracked));
  /** Per send, its index among the followed ones, or -1. */
  const followed = new Int32Array(scenario.sends).fill(-1);
  let count = 0;
  for (let i = 0; i < scenario.sends && stride > 0; i++) if (Math.floor(i / width) % stride === 0) followed[i] = count++;
  const connection = new Uint16Array(count);
  const createdAt = new Float64Array(count);
  const scheduledAt = new Float64Array(count);
  for (let i = 0; i < scenario.sends; i++) {
    const k = followed[i]!;
    if (k < 0) continue;
    connection[k] = i % width;
    // Created over the last day in send order (remote ids rise with them), due over the coming month.
    createdAt[k] = now - DAY + Math.floor((k * DAY) / count);
    scheduledAt[k] = now + ((k % 30) + 1) * DAY;
  }
  return { followed, count, seed: { connectionIds, connection, createdAt, scheduledAt, listId: LIST_ID } };
}

/**
 * Seeds the scenario's one-shot campaigns and sends: the followed ones queued with their remote
 * ids (firstId onwards), the rest sent two months ago, past the tracking window, so the poller
 * leaves them alone.
 */
function seedScenario(temp: TempDb, scenario: Scenario, connectionIds: string[], plan: ReturnType<typeof planFollowed>, firstId: number, now: number): number {
  const audience = JSON.stringify(audienceOf(LIST_ID));
  return seedCampaigns(
    temp.db,
    scenario.sends,
    (i) => {
      const connectionId = connectionIds[i % connectionIds.length]!;
      const k = plan.followed[i]!;
      if (k >= 0) return { ...atRest(connectionId, 'queued', String(firstId + k), plan.seed.scheduledAt[k]!, plan.seed.createdAt[k]!), createdAt: plan.seed.createdAt[k]! };
      // Remote ids of sent sends lie far above the simulator's, so they never meet one.
      return atRest(connectionId, 'sent', String(900_000_000 + i), now - 60 * DAY + (i % 1_000) * 60_000, now - 60 * DAY);
    },
    () => audience,
    now - 60 * DAY,
  );
}

function startServer(dbPath: string, port: number, sim: SimulatorThread): ChildProcess {
  // The whole environment, spelled out: nothing from this shell reaches the server's config.
  const env = {
    DATABASE_PATH: dbPath,
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_TOKEN,
    OFAUTH_API_KEY: sim.apiKey,
    OFAUTH_BASE_URL: sim.url,
    LOG_LEVEL: 'warn',
    SYNC_CRON,
    STATS_CRON,
    // glibc's malloc arenas (one per thread that allocates, up to 8 per core) hold freed native memory: passed on to try a cap.
    ...(process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}),
  };
  // The extra flags after the shipped ones: for node, as for V8, the later of two wins.
  return spawn(process.execPath, [...SERVER.flags, ...NODE_FLAGS, ...SERVER.entry], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Counts pino lines at warn and above (the server logs at warn) and other output, keeping the first few. */
function collectLogs(child: ChildProcess) {
  const logLines = { warn: 0, error: 0, other: 0, samples: [] as string[] };
  let buffered = '';
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines.filter((l) => l.trim() !== '')) {
      let level: number | null = null;
      try {
        level = (JSON.parse(line) as { level: number }).level;
      } catch {
        // Not pino: Node's own warnings, a crash trace.
      }
      if (level === null) logLines.other++;
      else if (level >= 50) logLines.error++;
      else if (level >= 40) logLines.warn++;
      if ((level === null || level >= 40) && logLines.samples.length < 20) logLines.samples.push(line.slice(0, 400));
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return logLines;
}

async function waitUntil<T>(what: string, deadline: number, check: () => T | null | Promise<T | null>, child: ChildProcess, logLines: { samples: string[] }): Promise<T> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (code ${child.exitCode}) while waiting for ${what}:\n${logLines.samples.join('\n')}`);
    const value = await check();
    if (value !== null) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(200);
  }
}

/** `count` list requests as ten clients paging newest first by cursor, each starting over at the end. */
async function listRequests(baseUrl: string, count: number): Promise<number> {
  let left = count;
  let items = 0;
  const walker = async () => {
    let cursor: string | null = null;
    while (left > 0) {
      left--;
      const response = await fetch(`${baseUrl}/v1/campaigns?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (response.status !== 200) throw new Error(`list answered ${response.status}: ${await response.text()}`);
      const page = (await response.json()) as { items: unknown[]; nextCursor: string | null };
      items += page.items.length;
      cursor = page.nextCursor;
    }
  };
  await Promise.all(Array.from({ length: LIST_WALKERS }, walker));
  return items;
}

async function runScenario(scenario: Scenario, connectionIds: string[]): Promise<RunResult> {
  const started = performance.now();
  const deadline = started + TIMEOUT_MS;
  const now = systemClock.now();
  const plan = planFollowed(scenario, connectionIds, now);
  const sim = await startSimulatorThread(
    { connections: connectionIds.map((id) => ({ id, lists: [{ id: LIST_ID, name: 'Fans', size: 1_000 }] })) },
    { queued: plan.seed, indexByConnection: true },
  );
  const temp = openTempDb(`memory-${scenario.name}`);
  let child: ChildProcess | null = null;
  try {
    // A throwaway file: no journal while seeding, so a gigabyte is written once rather than to
    // the WAL and then again by the checkpoint. The server reopens it in WAL mode, as always.
    temp.db.$client.pragma('journal_mode = OFF');
    temp.db.$client.pragma('synchronous = OFF');
    const seedMs = scenario.sends === 0 ? 0 : seedScenario(temp, scenario, connectionIds, plan, sim.firstId ?? 0, now);
    temp.db.$client.pragma('journal_mode = WAL');
    // Settled on disk and closed: the server opens the file as it would after a restart.
    temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
    closeDatabase(temp.db);
    const fileBytes = temp.sizeBytes();

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const spawnedAt = performance.now();
    child = startServer(temp.path, port, sim);
    const server = child;
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    const logLines = collectLogs(server);

    let peakRss = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, memoryOf(server.pid!).rss);
        samples++;
      } catch {
        // The process is gone; the exit is reported by whoever waits on it.
      }
    }, SAMPLE_MS);

    try {
      await waitUntil('the server to answer /health', deadline, () => fetch(`${baseUrl}/health`).then((r) => (r.ok ? true : null), () => null), server, logLines);
      const readyMs = performance.now() - spawnedAt;
      const ready = memoryOf(server.pid!);
      const readyRss = ready.rss;
      const phasePeaks: Array<[string, number]> = [['start-up', ready.hwm]];
      const heaps: Array<[string, HeapReading]> = [['start-up', await readHeap(baseUrl)]];
      let canReset = resetPeak(server.pid!);
      /** Closes a phase: its peak and heap, then a fresh high-water mark for the next. */
      const endPhase = async (name: string) => {
        heaps.push([name, await readHeap(baseUrl)]);
        if (!canReset) return;
        phasePeaks.push([name, memoryOf(server.pid!).hwm]);
        canReset = resetPeak(server.pid!);
      };

      const runsDb = new Database(temp.path, { readonly: true, fileMustExist: true });
      const runCounts = () => {
        const rows = runsDb.prepare('SELECT kind, count(*) AS n FROM runs GROUP BY kind').all() as Array<{ kind: 'sync' | 'stats'; n: number }>;
        return { sync: rows.find((r) => r.kind === 'sync')?.n ?? 0, stats: rows.find((r) => r.kind === 'stats')?.n ?? 0 };
      };
      try {
        await waitUntil(`${SYNC_CYCLES} sync and ${STATS_CYCLES} stats cycles`, deadline, () => {
          const runs = runCounts();
          return runs.sync >= SYNC_CYCLES && runs.stats >= STATS_CYCLES ? runs : null;
        }, server, logLines);
        await endPhase('cycles');
        const listStarted = performance.now();
        const listItems = await listRequests(baseUrl, LIST_REQUESTS);
        const listMs = performance.now() - listStarted;
        await endPhase('list requests');
        const statsBefore = runCounts().stats;
        await waitUntil('one more stats cycle', deadline, () => (runCounts().stats > statsBefore ? true : null), server, logLines);
        await endPhase('last cycle');
        const finalMemory = memoryOf(server.pid!);
        const cpuMs = cpuMsOf(server.pid!);
        const runs = runCounts();
        const last = runsDb.prepare("SELECT summary, error FROM runs WHERE kind = 'stats' ORDER BY id DESC LIMIT 1").get() as { summary: string | null; error: string | null };
        const lastStats = last.error ? { error: last.error } : last.summary ? (JSON.parse(last.summary) as Record<string, unknown>) : null;

        clearInterval(sampler);
        server.kill('SIGTERM');
        const code = await exited;
        if (code !== 0) throw new Error(`server exited with code ${code} on SIGTERM`);
        return {
          scenario,
          seedMs,
          fileBytes,
          readyMs,
          readyRss,
          peakRss: Math.max(peakRss, finalMemory.rss),
          hwm: Math.max(finalMemory.hwm, ...phasePeaks.map(([, bytes]) => bytes)),
          phasePeaks: canReset ? phasePeaks : null,
          heaps,
          finalRss: finalMemory.rss,
          cpuMs,
          samples,
          runs,
          lastStats,
          listMs,
          listItems,
          logLines,
          wallMs: performance.now() - started,
        };
      } finally {
        runsDb.close();
      }
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    temp.dispose();
  }
}

const brief = (summary: Record<string, unknown> | null) =>
  summary === null ? 'none' : ['requests', 'connections', 'seen', 'changed', 'deferred', 'failed', 'durationMs', 'error'].filter((k) => k in summary).map((k) => `${k} ${String(summary[k])}`).join(', ');

async function main(): Promise<void> {
  const connectionIds = Array.from({ length: CONNECTIONS }, (_, i) => `conn_mem_${String(i + 1).padStart(3, '0')}`);
  const only = new Set(args.only.split(','));
  const scenarios: Scenario[] = [
    { name: 'baseline', sends: 0, tracked: 0 },
    { name: 'tracked', sends: SENDS, tracked: TRACKED },
    { name: 'all', sends: SENDS, tracked: SENDS },
  ].filter((s) => only.has(s.name));
  const loadBefore = os.loadavg()[0]!;
  const results: RunResult[] = [];
  for (const scenario of scenarios) {
    const result = await runScenario(scenario, connectionIds);
    results.push(result);
    console.log(`  ${scenario.name}: peak ${megabytes(result.hwm)}, final ${megabytes(result.finalRss)} (${seconds(result.wallMs, 0)})`);
  }

  const label = (s: Scenario) => (s.sends === 0 ? 'empty database' : `${thousands(s.sends)} sends, ${thousands(s.tracked)} followed`);
  printTable(`bench:memory — server RSS (live mode against the simulator; SYNC_CRON ${SYNC_CRON}, STATS_CRON ${STATS_CRON}; ${CONNECTIONS} connections; ${args.server === 'built' ? 'npm run start:built' : 'npm start'}'s node flags: ${SERVER.flags.join(' ') || 'none'}${NODE_FLAGS.length ? `; also ${NODE_FLAGS.join(' ')}` : ''})`, [
    ...results.flatMap((r): Array<[string, string]> => [
      [`${r.scenario.name}: data`, `${label(r.scenario)}; seeded in ${seconds(r.seedMs)}, file ${mib(r.fileBytes)}`],
      [`${r.scenario.name}: RSS`, `ready ${megabytes(r.readyRss)} (after ${seconds(r.readyMs)}), peak ${megabytes(r.hwm)} (VmHWM; sampled max ${megabytes(r.peakRss)}, ${r.samples} samples), final ${megabytes(r.finalRss)}`],
      [`${r.scenario.name}: peak by phase`, r.phasePeaks ? r.phasePeaks.map(([name, bytes]) => `${name} ${megabytes(bytes)}`).join(', ') : 'not available (clear_refs refused)'],
      [`${r.scenario.name}: V8 heap`, r.heaps.map(([name, h]) => `${name} ${megabytes(h.heapUsed)} used / ${megabytes(h.heapTotal)}, external ${megabytes(h.external)}`).join('; ')],
      [`${r.scenario.name}: cycles`, `${r.runs.sync} sync, ${r.runs.stats} stats; last stats run: ${brief(r.lastStats)}`],
      [`${r.scenario.name}: server CPU`, `${seconds(r.cpuMs)} user + system, start to final reading`],
      [`${r.scenario.name}: lists`, `${LIST_REQUESTS} requests (${LIST_WALKERS} walkers, limit 50) in ${seconds(r.listMs)}, ${thousands(r.listItems)} items`],
      [`${r.scenario.name}: server log`, `${r.logLines.warn} warn, ${r.logLines.error} error, ${r.logLines.other} other lines${r.logLines.samples.length ? `; first: ${r.logLines.samples[0]}` : ''}`],
    ]),
    ['environment', `${os.availableParallelism()} CPUs, load average (1 min) ${loadBefore.toFixed(2)} before, ${os.loadavg()[0]!.toFixed(2)} after`],
  ]);

  const byName = new Map(results.map((r) => [r.scenario.name, r]));
  const baseline = byName.get('baseline');
  const tracked = byName.get('tracked');
  const all = byName.get('all');
  if (baseline) {
    const over = [tracked && `+${megabytes(tracked.hwm - baseline.hwm)} (${thousands(TRACKED)} followed)`, all && `+${megabytes(all.hwm - baseline.hwm)} (all followed)`].filter(Boolean);
    if (over.length > 0) console.log(`\n  peak over the empty-database baseline: ${over.join(', ')}`);
  }
  console.log('\nAims');
  const trackedMet = !tracked || printAim(`peak RSS ≤ ${megabytes(AIM_TRACKED_BYTES)} with ${thousands(SENDS)} sends, ${thousands(TRACKED)} followed`, tracked.hwm <= AIM_TRACKED_BYTES, megabytes(tracked.hwm));
  const allMet = !all || printAim(`peak RSS < ${megabytes(AIM_ALL_BYTES)} with all ${thousands(SENDS)} followed`, all.hwm < AIM_ALL_BYTES, megabytes(all.hwm));
  console.log(`  all aims met: ${trackedMet && allMet ? 'yes' : 'no'}`);
}

main().catch((error: unknown) => {
  console.error('bench:memory failed:', error);
  // The simulator thread would keep the process alive; the exit hook removes the temp files.
  process.exit(1);
});
