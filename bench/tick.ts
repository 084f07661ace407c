/**
 * bench:tick — what an idle sync tick costs as the table grows: a tick should cost what is due,
 * not what is stored.
 *
 * Two temp-file databases, one with 10,000 and one with 1,000,000 campaigns at rest (queued or
 * sent, already mirrored, nothing due), each driven by its own reconciler (the service's default
 * settings and metrics) with a client pointed at the simulator, which must see no request at all.
 * Ticks on the two databases alternate in blocks after a warm-up, so drift on the machine hits
 * both sizes alike. The query plans of the due scan and the claim show which index they use.
 *
 *   npm run bench:tick [-- --small 10000 --big 1000000 --rounds 20 --ticks 50 --warmup 200]
 *
 * Aim: median tick at 1,000,000 ≤ 1.5 × median tick at 10,000. A missed aim prints AIM MISSED;
 * only errors exit non-zero.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createMetrics } from '../src/metrics.ts';
import { createOfauthClient, type OfauthClient } from '../src/ofauth/client.ts';
import { createServices } from '../src/services.ts';
import { createReconciler, type Reconciler } from '../src/sync/reconciler.ts';
import { createSyncRepository } from '../src/sync/repository.ts';
import { atRest, audienceOf, seedCampaigns } from './lib/campaigns.ts';
import { explain, openTempDb, traceStatements, type TempDb } from './lib/db.ts';
import { micros, mib, percentile, printAim, printTable, seconds, thousands } from './lib/report.ts';
import { startBenchSimulator, tallyRequests } from './lib/simulator.ts';

const { values: args } = parseArgs({
  options: {
    small: { type: 'string', default: '10000' },
    big: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '20' },
    ticks: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '200' },
  },
});
const SIZES = [Number(args.small), Number(args.big)] as const;
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const TICKS_PER_ROUND = Number(args.ticks);
const WARMUP_TICKS = Number(args.warmup);
const LIST_ID = 7001;
const AIM_RATIO = 1.5;
const DAY_MS = 24 * 3_600_000;

interface Subject {
  size: number;
  temp: TempDb;
  reconciler: Reconciler;
  seedMs: number;
  checkpointMs: number;
  samples: number[];
}

/** Seeds `size` campaigns at rest: two in three sent (last month), one in three queued (next month). */
function seed(temp: TempDb, size: number, connectionIds: string[], now: number): { seedMs: number; checkpointMs: number } {
  const audience = JSON.stringify(audienceOf(LIST_ID));
  const seedMs = seedCampaigns(
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
  // A running service checkpoints as it goes; one huge seeding transaction would otherwise leave
  // every page in the WAL, and the ticks would measure WAL lookups instead of the table.
  const started = performance.now();
  temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  return { seedMs, checkpointMs: performance.now() - started };
}

function makeReconciler(temp: TempDb, client: OfauthClient): Reconciler {
  const config = loadConfig({});
  const services = createServices({ db: temp.db, clock: systemClock, adminToken: null });
  return createReconciler({
    db: temp.db,
    repository: services.campaignRepository,
    syncRepository: createSyncRepository(temp.db),
    events: services.events,
    client,
    clock: systemClock,
    settings: config.sync,
    metrics: createMetrics(),
  });
}

/** One timed idle tick; anything claimed or any connection found due is an error (the data is at rest). */
async function tick(subject: Subject): Promise<number> {
  const started = performance.now();
  const summary = await subject.reconciler.reconcileOnce();
  const ms = performance.now() - started;
  if (summary.connections !== 0 || summary.claimed !== 0) {
    throw new Error(`idle tick on ${thousands(subject.size)} campaigns found work: ${JSON.stringify(summary)}`);
  }
  return ms;
}

function printPlans(subject: Subject, connectionId: string): boolean {
  const { db } = subject.temp;
  const syncRepository = createSyncRepository(db);
  const config = loadConfig({});
  const now = systemClock.now();
  const { statements: dueScan } = traceStatements(db, () => syncRepository.dueByConnection(now));
  const { result: claimed, statements: claim } = traceStatements(db, () => syncRepository.claim(connectionId, 'bench-explain', now, config.sync.leaseMs, config.sync.batch));
  if (claimed.rows.length !== 0) throw new Error('the claim used for EXPLAIN leased rows on an idle database');
  console.log(`\nQuery plans on ${thousands(subject.size)} campaigns (statements as the code prepares them)`);
  let isPartialIndexUsed = true;
  const shown = [
    ...dueScan.map((s) => ({ label: 'due scan (dueByConnection)', statement: s })),
    // The claim's transaction also prepares BEGIN/COMMIT; only its queries have plans worth showing.
    ...claim.filter((s) => /^\s*(select|update)/i.test(s.sql)).map((s) => ({ label: 'claim', statement: s })),
  ];
  for (const { label, statement } of shown) {
    const plan = explain(db, statement);
    const isScanOfDue = /from\s+"?campaigns"?/i.test(statement.sql) && /sync_due_at/i.test(statement.sql);
    if (isScanOfDue && !plan.some((line) => line.includes('campaigns_due_idx'))) isPartialIndexUsed = false;
    console.log(`  ${label}: ${statement.sql.replace(/\s+/g, ' ').trim()}`);
    for (const line of plan) console.log(`      ${line}`);
  }
  return isPartialIndexUsed;
}

async function main(): Promise<void> {
  const connectionIds = Array.from({ length: CONNECTIONS }, (_, i) => `conn_bench_${String(i + 1).padStart(2, '0')}`);
  const sim = await startBenchSimulator({
    connections: connectionIds.map((id) => ({ id, lists: [{ id: LIST_ID, name: 'Fans', size: 1_000 }] })),
  });
  const client = createOfauthClient({ baseUrl: sim.url, apiKey: sim.apiKey });
  const now = systemClock.now();

  const subjects: Subject[] = SIZES.map((size) => {
    const temp = openTempDb(`tick-${size}`);
    const { seedMs, checkpointMs } = seed(temp, size, connectionIds, now);
    return { size, temp, reconciler: makeReconciler(temp, client), seedMs, checkpointMs, samples: [] };
  });

  for (const subject of subjects) for (let i = 0; i < WARMUP_TICKS; i++) await tick(subject);
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which size goes first, so neither always runs right after the other's garbage.
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const subject of order) for (let i = 0; i < TICKS_PER_ROUND; i++) subject.samples.push(await tick(subject));
  }

  const requests = tallyRequests(sim.requestCounts());
  if (requests.total !== 0) throw new Error(`idle ticks sent ${requests.total} requests to OFAuth: ${JSON.stringify(requests.byKey)}`);

  const stats = subjects.map((s) => {
    const sorted = [...s.samples].sort((a, b) => a - b);
    return { median: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
  });
  const [small, big] = stats as [(typeof stats)[0], (typeof stats)[0]];
  const ratio = big.median / small.median;
  const ratioP95 = big.p95 / small.p95;

  printTable('bench:tick — one idle reconcileOnce() (temp-file SQLite, default sync settings, nothing due)', [
    ['ticks measured', `${thousands(ROUNDS * TICKS_PER_ROUND)} per size after ${WARMUP_TICKS} warm-up, alternating in blocks of ${TICKS_PER_ROUND}`],
    ...subjects.map(
      (s): [string, string] => [
        `seed ${thousands(s.size)}`,
        `${seconds(s.seedMs)} (${thousands(Math.round(s.size / (s.seedMs / 1000)))} rows/s, one transaction), checkpoint ${seconds(s.checkpointMs)}, file ${mib(s.temp.sizeBytes())}`,
      ],
    ),
    ...subjects.map(
      (s, i): [string, string] => [`tick at ${thousands(s.size)}`, `median ${micros(stats[i]!.median)}, p95 ${micros(stats[i]!.p95)}, p99 ${micros(stats[i]!.p99)}`],
    ),
    ['ratio big / small', `median ${ratio.toFixed(2)}, p95 ${ratioP95.toFixed(2)}`],
    ['requests to OFAuth', `${requests.total} (asserted zero)`],
  ]);

  const isPartialIndexUsed = printPlans(subjects[1]!, connectionIds[0]!);

  console.log('\nAims');
  const ratioMet = printAim(`median tick at ${thousands(SIZES[1])} ≤ ${AIM_RATIO} × at ${thousands(SIZES[0])}`, ratio <= AIM_RATIO, ratio.toFixed(2));
  const indexMet = printAim('due scan and claim use the partial index campaigns_due_idx', isPartialIndexUsed, isPartialIndexUsed ? 'yes' : 'no');
  console.log(`  all aims met: ${ratioMet && indexMet ? 'yes' : 'no'}`);

  await client.close();
  await sim.close();
  for (const s of subjects) s.temp.dispose();
}

main().catch((error: unknown) => {
  console.error('bench:tick failed:', error);
  // The simulator's socket would keep the process alive; the exit hook removes the temp files.
  process.exit(1);
});
