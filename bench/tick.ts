/**
 * bench:tick — what an idle sync tick costs as the tables grow: a tick should cost what is due,
 * not what is stored.
 *
 * Three temp-file databases: 10,000 and 1,000,000 one-shot campaigns with their sends at rest
 * (queued or sent, already mirrored, nothing due), and 10,000 such sends plus 10,000 running
 * series whose next occurrence is a week away (due for materialisation RECURRENCE_LEAD before
 * it). Each is driven by its own service, wired by createFanout with the default settings and a
 * client pointed at the simulator, which must see no request at all. A tick is syncOnce(), as
 * the scheduler runs it: materialise due series, then reconcile. Ticks on the databases
 * alternate in blocks after a warm-up, so drift on the machine hits every size alike. The query
 * plans of the due scans (series and sends) and of the claim show which index they use.
 *
 *   npm run bench:tick [-- --small 10000 --big 1000000 --series 10000 --rounds 20 --ticks 50 --warmup 200 --db sqlite|postgres]
 *
 * With --db postgres the three databases are on one PostgreSQL server (bench/lib/postgres.ts),
 * seeded with the same rows; the plans shown are PostgreSQL's EXPLAIN of the due scans.
 *
 * Aims: median tick at 1,000,000 sends ≤ 1.2 × at 10,000; with 10,000 series a week off ≤ 1.2 ×
 * with none. A missed aim prints AIM MISSED; only errors exit non-zero.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Recurrence } from '../src/campaigns/model.ts';
import { FOLLOW_UP_LOOK_BACK_MS } from '../src/campaigns/follow-ups.ts';
import { nextOccurrence } from '../src/campaigns/recurrence.ts';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createOfauthClient } from '../src/ofauth/client.ts';
import type { Fanout } from '../src/runtime.ts';
import type { PgDb } from '../src/db/postgres/client.ts';
import type { Db } from '../src/db/sqlite/client.ts';
import { createPostgresStore } from '../src/store/postgres/index.ts';
import { createSqliteStore } from '../src/store/sqlite/index.ts';
import type { Store } from '../src/store/types.ts';
import { atRest, audienceOf, seedCampaigns, seedSeries } from './lib/campaigns.ts';
import { explain, openTempDb, traceStatements, type TempDb } from './lib/db.ts';
import { benchFanout } from './lib/fanout.ts';
import { micros, mib, percentile, printAim, printTable, seconds, thousands } from './lib/report.ts';
import { analyze, explainPostgres, seedAtRestPostgres, seedSeriesPostgres, startBenchPostgres } from './lib/postgres.ts';
import { startBenchSimulator, tallyRequests } from './lib/simulator.ts';

const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '10000' },
    big: { type: 'string', default: '1000000' },
    series: { type: 'string', default: '10000' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '20' },
    ticks: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '200' },
    db: { type: 'string', default: 'sqlite' },
  },
});
if (args.db !== 'sqlite' && args.db !== 'postgres') throw new Error(`--db must be sqlite or postgres, not ${args.db}`);
const BACKEND = args.db;
const SIZES = [Number(args.small), Number(args.big)] as const;
const SERIES = Number(args.series);
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const TICKS_PER_ROUND = Number(args.ticks);
const WARMUP_TICKS = Number(args.warmup);
const LIST_ID = 7001;
const AIM_RATIO = 1.2;
const AIM_SERIES_RATIO = 1.2;
const DAY_MS = 24 * 3_600_000;

interface Subject {
  label: string;
  size: number;
  series: number;
  /** SQLite only: the temp file (for its plans and size). */
  temp: TempDb | null;
  pg: { db: PgDb; dispose(): Promise<void> } | null;
  fanout: Fanout;
  seedMs: number;
  checkpointMs: number;
  samples: number[];
}

/** A weekly series (UTC) whose next occurrence is the minute a week from now. */
function weeklyFromNow(now: number): { recurrence: Recurrence; nextOccurrenceAt: number } {
  const next = new Date(Math.floor((now + 7 * DAY_MS) / 60_000) * 60_000);
  const recurrence: Recurrence = { cron: `${next.getUTCMinutes()} ${next.getUTCHours()} * * ${next.getUTCDay()}`, timezone: 'UTC', endsAt: null, maxOccurrences: null };
  // The seed must be a state the materialiser could have left: the cursor's next answer is this.
  if (nextOccurrence(recurrence, now) !== next.getTime()) throw new Error(`"${recurrence.cron}" does not next fire at ${next.toISOString()}`);
  return { recurrence, nextOccurrenceAt: next.getTime() };
}

/**
 * Seeds `size` one-shot campaigns with their sends at rest (two in three sent last month, one in
 * three queued for next month), then `series` running series a week from their next occurrence.
 */
function seed(temp: TempDb, size: number, series: number, connectionIds: string[], now: number, leadMs: number): { seedMs: number; checkpointMs: number } {
  const audience = JSON.stringify(audienceOf(LIST_ID));
  let seedMs = seedCampaigns(
    temp.db,
    size,
    (i) => {
      const connectionId = connectionIds[i % connectionIds.length]!;
      const isQueued = i % 3 === 0;
      const scheduledAt = isQueued ? now + ((i % 30) + 1) * DAY_MS : now - ((i % 30) + 1) * DAY_MS;
      return atRest(connectionId, isQueued ? 'queued' : 'sent', String(1_000_001 + i), scheduledAt, now - DAY_MS);
    },
    () => audience,
    now - 60 * DAY_MS,
  );
  const weekly = weeklyFromNow(now);
  seedMs += seedSeries(temp.db, series, (i) => ({ connectionId: connectionIds[i % connectionIds.length]!, ...weekly }), () => audience, now - 60 * DAY_MS, leadMs);
  // A running service checkpoints as it goes; one huge seeding transaction would otherwise leave
  // every page in the WAL, and the ticks would measure WAL lookups instead of the table.
  const started = performance.now();
  temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  return { seedMs, checkpointMs: performance.now() - started };
}

/** The service as server.ts wires it, default settings, its own client pointed at the simulator. */
function makeFanout(database: { db: Db } | { pg: PgDb }, sim: { url: string; apiKey: string }): Promise<Fanout> {
  const client = createOfauthClient({ baseUrl: sim.url, apiKey: sim.apiKey });
  return benchFanout({ ...database, config: loadConfig({}), clock: systemClock, client });
}

/** The PostgreSQL twin of seed(): the same rows, built by the server, then VACUUM (ANALYZE). */
async function seedPostgres(db: PgDb, size: number, series: number, connectionIds: string[], now: number, leadMs: number): Promise<{ seedMs: number; checkpointMs: number }> {
  const started = performance.now();
  await seedAtRestPostgres(db, { count: size, connectionIds, listId: LIST_ID, now });
  if (series > 0) await seedSeriesPostgres(db, { count: series, connectionIds, listId: LIST_ID, ...weeklyFromNow(now), leadMs, now });
  const seedMs = performance.now() - started;
  const analyzed = performance.now();
  await analyze(db);
  return { seedMs, checkpointMs: performance.now() - analyzed };
}

/** Whether each scan of an idle tick reads its partial index. */
interface ScanIndexUse {
  sends: boolean;
  series: boolean;
  followUps: boolean;
}

const FOLLOW_UP_SCAN_LABEL = 'follow-up scan (followUpOriginals)';
const isFollowUpScan = (text: string) => /follow_up_check_at/i.test(text) && /^\s*select/i.test(text);
/** The materialiser's scan for due follow-ups, as an idle tick runs it. */
const followUpScan = (store: Store, now: number) => store.sends.followUpOriginals({ sentSince: now - FOLLOW_UP_LOOK_BACK_MS, dueBy: now, after: null, limit: 200 });

/**
 * The plans PostgreSQL picks for the due scans of an idle tick, traced off the pool while a
 * store built for it runs them (the claim runs inside a transaction on a checked-out client,
 * so it is not traced here). Returns whether each scan reads its partial index.
 */
async function printPostgresPlans(subject: Subject, _connectionId: string): Promise<ScanIndexUse> {
  const { db } = subject.pg!;
  const config = loadConfig({});
  const now = systemClock.now();
  const traced: Array<{ text: string; values: unknown[] }> = [];
  const pool = db.$client as unknown as { query: (...args: unknown[]) => unknown };
  const query = pool.query.bind(pool);
  pool.query = (...args: unknown[]) => {
    const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown[] | undefined];
    traced.push(typeof first === 'string' ? { text: first, values: second ?? [] } : { text: first.text, values: first.values ?? second ?? [] });
    return query(...args);
  };
  try {
    const store = createPostgresStore(db, { recurrenceLeadMs: config.recurrence.leadMs });
    await store.campaigns.seriesDue(now, 500);
    await store.sends.dueByConnection(now);
    await followUpScan(store, now);
  } finally {
    pool.query = query;
  }
  console.log(`\nQuery plans on ${subject.label} (PostgreSQL, statements as the store sends them)`);
  const uses = { sends: true, series: true, followUps: true };
  for (const statement of traced) {
    const text = statement.text.replace(/\s+/g, ' ').trim();
    const plan = await explainPostgres(db, statement.text, statement.values);
    // The follow-up scan selects every column (series_due_at, sync_due_at among them): tell it apart first.
    const isFollowUps = isFollowUpScan(text);
    const isSeries = !isFollowUps && /series_due_at/i.test(text);
    if (isFollowUps && !plan.some((line) => line.includes('sends_follow_up_check_idx'))) uses.followUps = false;
    if (isSeries && !plan.some((line) => line.includes('campaigns_series_due_idx'))) uses.series = false;
    if (!isSeries && !isFollowUps && /sync_due_at/i.test(text) && !plan.some((line) => line.includes('sends_due_idx'))) uses.sends = false;
    const label = isFollowUps ? FOLLOW_UP_SCAN_LABEL : isSeries ? 'series due scan (seriesDue)' : 'sends due scan (dueByConnection)';
    console.log(`  ${label}: ${text}`);
    for (const line of plan) console.log(`      ${line}`);
  }
  return uses;
}

/** One timed idle tick; anything materialised or claimed, or any connection found due, is an error (the data is at rest). */
async function tick(subject: Subject): Promise<number> {
  const started = performance.now();
  const summary = await subject.fanout.syncOnce();
  const ms = performance.now() - started;
  if (summary.connections !== 0 || summary.claimed !== 0 || summary.seriesSends !== 0) {
    throw new Error(`idle tick on ${subject.label} found work: ${JSON.stringify(summary)}`);
  }
  return ms;
}

/**
 * Shows the plans of the statements an idle tick and a claim run, traced from a store built
 * inside the trace (the claim's statement is prepared when the store is). Returns whether each
 * due scan uses its partial index.
 */
async function printPlans(subject: Subject, connectionId: string): Promise<ScanIndexUse> {
  const { db } = subject.temp!;
  const config = loadConfig({});
  const now = systemClock.now();
  const { result, statements } = traceStatements(db, () => {
    // Store methods run their SQL before their first await: the statements all run inside the trace.
    const store = createSqliteStore(db, { recurrenceLeadMs: config.recurrence.leadMs });
    const seriesDue = store.campaigns.seriesDue(now, 500);
    const dueByConnection = store.sends.dueByConnection(now);
    const claim = store.sends.claim({ connectionId, owner: 'bench-explain', now, leaseMs: config.sync.leaseMs, limit: config.sync.batch });
    return Promise.all([seriesDue, dueByConnection, claim, followUpScan(store, now)]);
  });
  const [series, due, claimed, followUps] = await result;
  if (series.length + due.length + claimed.work.length + followUps.length !== 0) throw new Error('the statements used for EXPLAIN found work on an idle database');
  console.log(`\nQuery plans on ${subject.label} (statements as the store prepares them, those that ran)`);
  const uses = { sends: true, series: true, followUps: true };
  // The claim's transaction also runs BEGIN/COMMIT; only its queries have plans worth showing.
  for (const statement of statements.filter((s) => s.runs > 0 && /^\s*(select|update)/i.test(s.sql))) {
    const plan = explain(db, statement);
    const text = statement.sql.replace(/\s+/g, ' ').trim();
    // The follow-up scan selects every column (series_due_at, sync_due_at among them): tell it apart first.
    const isFollowUps = isFollowUpScan(text);
    const isSeries = !isFollowUps && /series_due_at/i.test(text);
    const label = isFollowUps ? FOLLOW_UP_SCAN_LABEL : isSeries ? 'series due scan (seriesDue)' : /group by/i.test(text) ? 'sends due scan (dueByConnection)' : 'claim (candidates)';
    if (isFollowUps && !plan.some((line) => line.includes('sends_follow_up_check_idx'))) uses.followUps = false;
    if (!isFollowUps && /from\s+"?sends"?/i.test(text) && /sync_due_at/i.test(text) && !plan.some((line) => line.includes('sends_due_idx'))) uses.sends = false;
    if (isSeries && !plan.some((line) => line.includes('campaigns_series_due_idx'))) uses.series = false;
    console.log(`  ${label}: ${text}`);
    for (const line of plan) console.log(`      ${line}`);
  }
  return uses;
}

async function main(): Promise<void> {
  const connectionIds = Array.from({ length: CONNECTIONS }, (_, i) => `conn_bench_${String(i + 1).padStart(2, '0')}`);
  const sim = await startBenchSimulator({
    connections: connectionIds.map((id) => ({ id, lists: [{ id: LIST_ID, name: 'Fans', size: 1_000 }] })),
  });
  const now = systemClock.now();
  const { leadMs } = loadConfig({}).recurrence;

  const shapes = [
    { label: `${thousands(SIZES[0])} sends`, size: SIZES[0], series: 0 },
    { label: `${thousands(SIZES[1])} sends`, size: SIZES[1], series: 0 },
    { label: `${thousands(SIZES[0])} sends + ${thousands(SERIES)} series`, size: SIZES[0], series: SERIES },
  ];
  const subjects: Subject[] = [];
  const postgres = BACKEND === 'postgres' ? await startBenchPostgres() : null;
  for (const shape of shapes) {
    if (postgres) {
      const pg = await postgres.createDatabase(4);
      const { seedMs, checkpointMs } = await seedPostgres(pg.db, shape.size, shape.series, connectionIds, now, leadMs);
      subjects.push({ ...shape, temp: null, pg, fanout: await makeFanout({ pg: pg.db }, sim), seedMs, checkpointMs, samples: [] });
      continue;
    }
    const temp = openTempDb(`tick-${shape.size}-${shape.series}`);
    const { seedMs, checkpointMs } = seed(temp, shape.size, shape.series, connectionIds, now, leadMs);
    subjects.push({ ...shape, temp, pg: null, fanout: await makeFanout({ db: temp.db }, sim), seedMs, checkpointMs, samples: [] });
  }

  for (const subject of subjects) for (let i = 0; i < WARMUP_TICKS; i++) await tick(subject);
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate which database goes first, so none always runs right after another's garbage.
    const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
    for (const subject of order) for (let i = 0; i < TICKS_PER_ROUND; i++) subject.samples.push(await tick(subject));
  }

  const requests = tallyRequests(sim.requestCounts());
  if (requests.total !== 0) throw new Error(`idle ticks sent ${requests.total} requests to OFAuth: ${JSON.stringify(requests.byKey)}`);

  const stats = subjects.map((s) => {
    const sorted = [...s.samples].sort((a, b) => a - b);
    return { median: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
  });
  const [small, big, withSeries] = stats as [(typeof stats)[0], (typeof stats)[0], (typeof stats)[0]];
  const ratio = big.median / small.median;
  const ratioP95 = big.p95 / small.p95;
  const seriesRatio = withSeries.median / small.median;
  const seriesRatioP95 = withSeries.p95 / small.p95;

  const where = postgres ? 'PostgreSQL (embedded, fsync off)' : 'temp-file SQLite';
  printTable(`bench:tick — one idle syncOnce() (materialise + reconcile; ${where}, default settings, nothing due)`, [
    ['ticks measured', `${thousands(ROUNDS * TICKS_PER_ROUND)} per database after ${WARMUP_TICKS} warm-up, alternating in blocks of ${TICKS_PER_ROUND}`],
    ...subjects.map(
      (s): [string, string] => [
        `seed ${s.label}`,
        s.temp
          ? `${seconds(s.seedMs)} (${thousands(Math.round((s.size + s.series) / (s.seedMs / 1000)))} campaigns/s with their sends; one transaction for one-shots, one for series), checkpoint ${seconds(s.checkpointMs)}, file ${mib(s.temp.sizeBytes())}`
          : `${seconds(s.seedMs)} (INSERT … SELECT generate_series), VACUUM (ANALYZE) ${seconds(s.checkpointMs)}`,
      ],
    ),
    ...subjects.map(
      (s, i): [string, string] => [`tick at ${s.label}`, `median ${micros(stats[i]!.median)}, p95 ${micros(stats[i]!.p95)}, p99 ${micros(stats[i]!.p99)}`],
    ),
    ['ratio big / small', `median ${ratio.toFixed(2)}, p95 ${ratioP95.toFixed(2)}`],
    ['ratio with series / without', `median ${seriesRatio.toFixed(2)}, p95 ${seriesRatioP95.toFixed(2)}`],
    ['requests to OFAuth', `${requests.total} (asserted zero)`],
  ]);

  const plansOf = postgres ? printPostgresPlans : printPlans;
  const onBig = await plansOf(subjects[1]!, connectionIds[0]!);
  const onSeries = await plansOf(subjects[2]!, connectionIds[0]!);
  const isSendsIndexUsed = onBig.sends && onSeries.sends;
  const isSeriesIndexUsed = onBig.series && onSeries.series;
  const isFollowUpIndexUsed = onBig.followUps && onSeries.followUps;

  console.log('\nAims');
  const ratioMet = printAim(`median tick at ${thousands(SIZES[1])} sends ≤ ${AIM_RATIO} × at ${thousands(SIZES[0])}`, ratio <= AIM_RATIO, ratio.toFixed(2));
  const seriesMet = printAim(
    `median tick with ${thousands(SERIES)} series a week off ≤ ${AIM_SERIES_RATIO} × with none`,
    seriesRatio <= AIM_SERIES_RATIO,
    seriesRatio.toFixed(2),
  );
  const sendsIndexMet = printAim('sends due scan and claim use the partial index sends_due_idx', isSendsIndexUsed, isSendsIndexUsed ? 'yes' : 'no');
  const seriesIndexMet = printAim('series due scan uses the partial index campaigns_series_due_idx', isSeriesIndexUsed, isSeriesIndexUsed ? 'yes' : 'no');
  const followUpIndexMet = printAim('follow-up scan uses the partial index sends_follow_up_check_idx', isFollowUpIndexUsed, isFollowUpIndexUsed ? 'yes' : 'no');
  console.log(`  all aims met: ${ratioMet && seriesMet && sendsIndexMet && seriesIndexMet && followUpIndexMet ? 'yes' : 'no'}`);

  // stop() closes each service's client and database; dispose() then removes the files.
  for (const s of subjects) await s.fanout.stop();
  await sim.close();
  for (const s of subjects) s.temp?.dispose();
  await postgres?.stop();
}

main().catch((error: unknown) => {
  console.error('bench:tick failed:', error);
  // The simulator's socket would keep the process alive; the exit hook removes the temp files.
  process.exit(1);
});
