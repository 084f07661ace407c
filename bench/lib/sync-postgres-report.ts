import type { Config } from '../../src/config.ts';
import { percent, printAim, printTable, seconds, thousands } from './report.ts';
import type { PostgresRoundResult } from './sync-postgres.ts';
import { median, type RoundShape } from './sync-round.ts';

/** Issue 9's aims for the PostgreSQL runs: as close to the buckets as on SQLite, and not one 429. */
const AIM_RATIO = 0.95;

const label = (instances: number) => (instances === 1 ? '1 instance' : `${instances} instances`);

function printRounds(results: PostgresRoundResult[]): void {
  console.log('\nround  inst  actual s  least s  ratio  requests  429s  ticks  retried  ambiguous  takeovers  warn/err  held      shared  in flight  first/last connection done  instances done  loop delay p99/max  busy ms/create  cpu s  server cpu s  load');
  console.log('(held: connections each instance held; shared: connections two instances sent requests on; in flight: most requests the simulator handled at once on one connection; instances done: when each sent its last request, s; busy ms: event loop not idle; cpu s: this process; server cpu s: the PostgreSQL sessions serving it; load: 1-min average)');
  const perCount = new Map<number, number>();
  for (const r of results) {
    const round = (perCount.get(r.instances) ?? 0) + 1;
    perCount.set(r.instances, round);
    console.log(
      [
        String(round).padStart(5),
        String(r.instances).padStart(5),
        (r.actualMs / 1000).toFixed(2).padStart(8),
        (r.leastMs / 1000).toFixed(2).padStart(7),
        r.ratio.toFixed(3).padStart(6),
        String(r.requests).padStart(8),
        String(r.rateLimited).padStart(5),
        String(r.ticks).padStart(6),
        String(r.totals.retried).padStart(8),
        String(r.totals.ambiguous).padStart(10),
        String(r.totals.takeovers).padStart(10),
        `${r.warnings}/${r.errors}`.padStart(9),
        r.held.join('/').padEnd(9).padStart(10),
        String(r.sharedConnections).padStart(6),
        String(r.maxInFlight).padStart(10),
        `${seconds(r.firstFinishMs)} / ${seconds(r.lastFinishMs)}`.padStart(27),
        r.instanceDoneMs.map((ms) => (ms / 1000).toFixed(1)).join('/').padStart(15),
        `${r.loopDelayP99Ms.toFixed(0)} / ${r.loopDelayMaxMs.toFixed(0)} ms`.padStart(19),
        (r.busyMs / r.totals.created).toFixed(2).padStart(15),
        (r.cpuMs / 1000).toFixed(2).padStart(6),
        (r.serverCpuMs === null ? '–' : (r.serverCpuMs / 1000).toFixed(2)).padStart(13),
        r.load.toFixed(2).padStart(5),
      ].join(' '),
    );
  }
  for (const sample of results.flatMap((r) => r.logSamples).slice(0, 5)) console.log(`  ${sample}`);
}

interface Figures {
  rounds: number;
  requests: number;
  rateLimited: number;
  actualMs: number;
  ratios: number[];
  medianRatio: number;
}

function figuresOf(results: PostgresRoundResult[]): Figures {
  const ratios = results.map((r) => r.ratio);
  return {
    rounds: results.length,
    requests: results.reduce((sum, r) => sum + r.requests, 0),
    rateLimited: results.reduce((sum, r) => sum + r.rateLimited, 0),
    actualMs: median(results.map((r) => r.actualMs)),
    ratios,
    medianRatio: median(ratios),
  };
}

/** Prints the rounds, 1 and N instances side by side, and an aim line of each for each. */
export function printPostgresComparison(run: { config: Config; shape: RoundShape; poolSize: number; counts: number[]; results: PostgresRoundResult[]; cpus: number }): void {
  const { shape, results } = run;
  const first = results[0]!;
  printTable('bench:sync --db postgres — backlog sync against the simulator (real clock, embedded PostgreSQL with fsync off, default sync settings)', [
    ['campaigns', `${thousands(shape.campaigns)} per round, one create each (seeded in ${seconds(first.seedMs)})`],
    ['connections', `${shape.connections} (at most ${first.maxPerConnection} creates on one)`],
    ['bucket (simulator = each client)', `capacity ${shape.bucket.capacity}, refill ${shape.bucket.refillPerSecond}/s`],
    ['simulator latency', shape.latencyMs[1] === 0 ? 'none' : `${shape.latencyMs[0]}–${shape.latencyMs[1]} ms per request (uniform)`],
    ['sync settings', `batch ${run.config.sync.batch}, lease ${seconds(run.config.sync.leaseMs, 0)}, idle tick every ${shape.idleTickMs} ms`],
    ['instances', `${run.counts.map(label).join(' and ')}, in one process, one pool of ${run.poolSize} each, alternate rounds`],
    ['rounds', `${results.length / run.counts.length} each (fresh simulator, database, clients and instances each)`],
    ['environment', `${run.cpus} CPUs, shared with the PostgreSQL server and the simulator thread`],
  ]);
  printRounds(results);

  const figures = run.counts.map((n) => figuresOf(results.filter((r) => r.instances === n)));
  const side = (cell: (f: Figures) => string): string => figures.map((f) => cell(f).padEnd(26)).join('');
  printTable('Summary', [
    ['', side((f) => label(run.counts[figures.indexOf(f)]!))],
    ['rounds', side((f) => String(f.rounds))],
    ['requests (all rounds)', side((f) => thousands(f.requests))],
    ['429s (all rounds)', side((f) => `${f.rateLimited} (${percent(f.rateLimited, f.requests)})`)],
    ['actual (median)', side((f) => seconds(f.actualMs))],
    ['least the buckets allow', side(() => seconds(first.leastMs))],
    ['ratio least / actual, median', side((f) => f.medianRatio.toFixed(3))],
    ['worst / best', side((f) => `${Math.min(...f.ratios).toFixed(3)} / ${Math.max(...f.ratios).toFixed(3)}`)],
  ]);
  console.log('\nAims');
  let allMet = true;
  figures.forEach((f, i) => {
    const who = label(run.counts[i]!);
    allMet = printAim(`${who}: median ratio ≥ ${AIM_RATIO}`, f.medianRatio >= AIM_RATIO, f.medianRatio.toFixed(3)) && allMet;
    allMet = printAim(`${who}: 0 × 429`, f.rateLimited === 0, `${f.rateLimited} × 429`) && allMet;
  });
  console.log(`  all aims met: ${allMet ? 'yes' : 'no'}`);
}
