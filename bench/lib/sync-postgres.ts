import { availableParallelism, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { systemClock } from '../../src/clock.ts';
import type { Config } from '../../src/config.ts';
import type { Fanout } from '../../src/runtime.ts';
import { audienceOf, needingCreate } from './campaigns.ts';
import { benchFanout } from './fanout.ts';
import { backendCpuMs, seedCampaignsPostgres, startBenchPostgres, type BenchPostgres } from './postgres.ts';
import { collectingLogger } from './report.ts';
import { printPostgresComparison } from './sync-postgres-report.ts';
import {
  benchConnectionIds,
  LIST_ID,
  newRequestTiming,
  roundClient,
  startRoundSimulator,
  syncUntilDone,
  roundFigures,
  type RoundFigures,
  type RoundShape,
} from './sync-round.ts';

/*
 * bench:sync on PostgreSQL: the backlog synced by one instance or by N on the same database,
 * each instance what a server process is (its own pool, OFAuth client with its own limiter,
 * instance id and connection leases), all in this process on the real clock. The instances are
 * up before the backlog lands (each has heartbeated once, as leases.start() does at boot), so
 * each one's first tick takes its fair share of the connections the backlog names and works
 * them; nothing hands the leases over mid-run.
 */

export interface PostgresRoundResult extends RoundFigures {
  instances: number;
  /** Connections each instance held at the end of the sync. */
  held: number[];
  /** Connections on which more than one instance sent requests (their buckets then overlap). */
  sharedConnections: number;
  /** When each instance sent its last request (ms into the sync). */
  instanceDoneMs: number[];
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  seedMs: number;
  /** CPU time of this process (every instance, the simulator thread) during the sync; the server's is apart. */
  cpuMs: number;
  /** CPU time of the PostgreSQL processes serving the database during the sync (null: not readable here). */
  serverCpuMs: number | null;
  busyMs: number;
  load: number;
}

export interface PostgresRoundOptions {
  config: Config;
  shape: RoundShape;
  instances: number;
  /** Each instance's pool (DATABASE_POOL_SIZE). */
  poolSize: number;
}

/** One fresh round: new simulator and database, the backlog seeded, synced by `instances` instances. */
export async function runPostgresRound(postgres: BenchPostgres, options: PostgresRoundOptions): Promise<PostgresRoundResult> {
  const { config, shape } = options;
  const connectionIds = benchConnectionIds(shape.connections);
  const sim = await startRoundSimulator(shape, connectionIds);
  // The benchmark's own pool (seed, progress, checks), apart from the instances' pools.
  const database = await postgres.createDatabase(2);
  const { db } = database;

  const now = systemClock.now();
  const audience = audienceOf(LIST_ID);
  // A day ahead: queued with a date, never "late", never sent during the round.
  const seedMs = await seedCampaignsPostgres(db, shape.campaigns, (i) => needingCreate(connectionIds[i % shape.connections]!, now, now + 24 * 3_600_000 + i * 60_000), () => audience, now);

  const timing = newRequestTiming();
  const { logger, counts: logCounts, samples: logSamples } = collectingLogger();
  const fanouts: Fanout[] = [];
  for (let i = 0; i < options.instances; i++) {
    const client = roundClient(sim, config, shape, timing, i);
    fanouts.push(await benchFanout({ pg: database.open(options.poolSize), config, clock: systemClock, client, logger, owner: `bench-instance-${i + 1}` }));
  }
  // Up before the backlog: each has heartbeated, so the first tick of each shares the connections out.
  for (const fanout of fanouts) await fanout.leases!.refresh();
  const owed = async () => Number((await db.$client.query<{ n: string }>('SELECT count(*) AS n FROM sends WHERE sync_due_at IS NOT NULL')).rows[0]!.n);

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const load = loadavg()[0]!;
  const serverCpuStarted = await backendCpuMs(db);
  const cpuStarted = process.cpuUsage();
  const eluStarted = performance.eventLoopUtilization();
  timing.startedAt = performance.now();
  const { actualMs, ticks, totals } = await syncUntilDone(fanouts, owed, shape);
  const cpu = process.cpuUsage(cpuStarted);
  const elu = performance.eventLoopUtilization(eluStarted);
  // The instances' sessions are open until they stop; those started during the sync began at 0.
  const serverCpu = await backendCpuMs(db);
  const serverCpuMs = serverCpu.size === 0 ? null : [...serverCpu].reduce((sum, [pid, ms]) => sum + ms - (serverCpuStarted.get(pid) ?? 0), 0);
  loopDelay.disable();
  const held = fanouts.map((f) => f.leases!.held().length);

  // Correctness first: a fast sync that lost or duplicated campaigns is an error, not a result.
  const queued = Number(
    (
      await db.$client.query<{ n: string }>(
        "SELECT count(*) AS n FROM sends s JOIN campaigns c ON c.id = s.campaign_id WHERE s.status = 'queued' AND s.remote_id IS NOT NULL AND s.sync_state = 'synced' AND c.status = 'queued'",
      )
    ).rows[0]!.n,
  );
  const remote = await sim.messageCount();
  if (queued !== shape.campaigns || remote !== shape.campaigns) {
    throw new Error(`expected ${shape.campaigns} campaigns queued and ${shape.campaigns} remote messages, got ${queued} queued and ${remote} remote`);
  }

  const figures = await roundFigures(sim, shape, timing, { actualMs, ticks, totals }, { counts: logCounts, samples: logSamples });
  for (const fanout of fanouts) await fanout.stop();
  await sim.close();
  await database.dispose();
  return {
    ...figures,
    instances: options.instances,
    held,
    sharedConnections: [...timing.spentBy.values()].filter((spenders) => spenders.size > 1).length,
    instanceDoneMs: fanouts.map((_, i) => Math.max(0, ...[...timing.spentBy].filter(([, spenders]) => spenders.has(i)).map(([connectionId]) => timing.lastRequestAt.get(connectionId) ?? 0))),
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    seedMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs,
    busyMs: elu.active,
    load,
  };
}

/**
 * `rounds` rounds with one instance and, when `instances` > 1, as many with N, alternating (1, N,
 * 1, N, …) so that a busy spell on a shared machine falls on both alike; then both side by side.
 */
export async function runPostgresComparison(options: { config: Config; shape: RoundShape; rounds: number; instances: number; poolSize: number }): Promise<void> {
  const postgres = await startBenchPostgres();
  try {
    const counts = options.instances > 1 ? [1, options.instances] : [1];
    const results: PostgresRoundResult[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      for (const instances of counts) results.push(await runPostgresRound(postgres, { ...options, instances }));
    }
    printPostgresComparison({ ...options, counts, results, cpus: availableParallelism() });
  } finally {
    await postgres.stop();
  }
}
