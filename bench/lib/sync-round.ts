import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../src/config.ts';
import { createOfauthClient, type OfauthClient } from '../../src/ofauth/client.ts';
import type { Fanout } from '../../src/runtime.ts';
import type { ReconcileSummary } from '../../src/sync/reconciler.ts';
import { mulberry32 } from '../../src/ofauth/simulator/faults.ts';
import { seconds } from './report.ts';
import { startSimulatorThread, tallyRequests, type SimulatorThread } from './simulator.ts';

/*
 * What bench:sync's rounds share whatever the database: the backlog's shape, the simulator, the
 * clients, the drive loop and the least time a perfect client would take.
 */

export interface RoundShape {
  connections: number;
  campaigns: number;
  bucket: { capacity: number; refillPerSecond: number };
  /** The simulator's uniform latency per request, [min, max] ms. */
  latencyMs: [number, number];
  /** When a tick claimed nothing but rows are still owed (backing off), wait this long, as the cron would. */
  idleTickMs: number;
  timeoutMs: number;
}

export const LIST_ID = 7001;

export const benchConnectionIds = (count: number) => Array.from({ length: count }, (_, i) => `conn_bench_${String(i + 1).padStart(2, '0')}`);

/** Seed row i goes to connection i mod N: creates per connection, in connection order. */
export const createsPerConnection = (shape: RoundShape) =>
  Array.from({ length: shape.connections }, (_, c) => Math.floor(shape.campaigns / shape.connections) + (c < shape.campaigns % shape.connections ? 1 : 0));

export function startRoundSimulator(shape: RoundShape, connectionIds: string[]): Promise<SimulatorThread> {
  return startSimulatorThread({
    rateLimit: shape.bucket,
    connections: connectionIds.map((id) => ({ id, lists: [{ id: LIST_ID, name: 'Fans', size: 1_000 }] })),
    faults: { latencyMs: shape.latencyMs },
  });
}

/** When each connection's last request left, in ms after `timing.startedAt`, over every client of the round. */
export interface RequestTiming {
  startedAt: number;
  lastRequestAt: Map<string, number>;
  /** Connection id → the clients (instances) that sent requests on it. */
  spentBy: Map<string, Set<number>>;
}

export const newRequestTiming = (): RequestTiming => ({ startedAt: 0, lastRequestAt: new Map(), spentBy: new Map() });

/** One instance's OFAuth client, its bucket as the operator configures it, recording into `timing`. */
export function roundClient(sim: SimulatorThread, config: Config, shape: RoundShape, timing: RequestTiming, instance = 0): OfauthClient {
  return createOfauthClient({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    endpoints: config.ofauth.endpoints,
    timeoutMs: config.ofauth.timeoutMs,
    rateLimit: shape.bucket,
    onRequest: (info) => {
      timing.lastRequestAt.set(info.connectionId, performance.now() - timing.startedAt);
      const spenders = timing.spentBy.get(info.connectionId) ?? new Set<number>();
      spenders.add(instance);
      timing.spentBy.set(info.connectionId, spenders);
    },
  });
}

export type Totals = Omit<ReconcileSummary, 'durationMs'>;

/** What every round reports, whichever backend ran it. */
export interface RoundFigures {
  actualMs: number;
  leastMs: number;
  /** Last send by the buckets plus the least latency: no client can be faster. */
  boundMs: number;
  /** Expected least for a client that starts each connection as Fanout's lanes do (coldLaneLeastMs). */
  coldLaneMs: number;
  ratio: number;
  requests: number;
  rateLimited: number;
  byKey: Record<string, number>;
  ticks: number;
  totals: Totals;
  warnings: number;
  errors: number;
  logSamples: string[];
  /** When the first and the last connection sent their last request, from the sync's start. */
  firstFinishMs: number;
  lastFinishMs: number;
  /** Most requests the simulator handled at once on one connection. */
  maxInFlight: number;
  maxPerConnection: number;
}

/**
 * A finished round's figures as the simulator and the run give them, whichever backend ran it:
 * read before the simulator closes.
 */
export async function roundFigures(
  sim: SimulatorThread,
  shape: RoundShape,
  timing: RequestTiming,
  run: { actualMs: number; ticks: number; totals: Totals },
  logs: { counts: { warn: number; error: number }; samples: string[] },
): Promise<RoundFigures> {
  const creates = createsPerConnection(shape);
  const leastMs = leastTimeMs(creates, shape.bucket.capacity, shape.bucket.refillPerSecond, shape.latencyMs);
  const tally = tallyRequests(await sim.requestCounts());
  const finishes = [...timing.lastRequestAt.values()].sort((a, b) => a - b);
  return {
    actualMs: run.actualMs,
    leastMs,
    boundMs: boundTimeMs(creates, shape),
    coldLaneMs: coldLaneLeastMs(creates, shape.bucket.capacity, shape.bucket.refillPerSecond, shape.latencyMs),
    ratio: leastMs / run.actualMs,
    requests: tally.total,
    rateLimited: tally.rateLimited,
    byKey: tally.byKey,
    ticks: run.ticks,
    totals: run.totals,
    warnings: logs.counts.warn,
    errors: logs.counts.error,
    logSamples: logs.samples,
    firstFinishMs: finishes[0] ?? 0,
    lastFinishMs: finishes.at(-1) ?? 0,
    maxInFlight: Math.max(...Object.values(await sim.maxInFlight())),
    maxPerConnection: Math.max(...creates),
  };
}

const emptyTotals = (): Totals => ({ connections: 0, claimed: 0, created: 0, updated: 0, deleted: 0, adopted: 0, failed: 0, retried: 0, ambiguous: 0, paused: 0, takeovers: 0 });

/**
 * Drives each instance as the cron would (syncOnce again and again, a pause after a tick that
 * claimed nothing), all side by side, until nothing is owed. The first loop to see that ends the
 * run: the others' pauses are cut short, so an idle instance's wait does not count as sync time.
 * Returns the time from the call to that moment, and the ticks and summaries of all instances.
 */
export async function syncUntilDone(fanouts: Fanout[], owed: () => Promise<number>, shape: RoundShape): Promise<{ actualMs: number; ticks: number; totals: Totals }> {
  const totals = emptyTotals();
  const startedAt = performance.now();
  let ticks = 0;
  let actualMs = 0;
  const done = new AbortController();
  const loop = async (fanout: Fanout) => {
    while (!done.signal.aborted) {
      const summary = await fanout.syncOnce();
      ticks++;
      for (const key of Object.keys(totals) as Array<keyof Totals>) totals[key] += summary[key];
      if (done.signal.aborted) return;
      const left = await owed();
      if (left === 0) {
        actualMs = performance.now() - startedAt;
        done.abort();
        return;
      }
      if (performance.now() - startedAt > shape.timeoutMs) throw new Error(`sync not done after ${seconds(shape.timeoutMs, 0)}: ${left} campaigns still owed`);
      if (summary.claimed === 0) await delay(shape.idleTickMs, undefined, { signal: done.signal }).catch(() => undefined);
    }
  };
  try {
    await Promise.all(fanouts.map(loop));
  } finally {
    // One loop failing stops the others at their next tick instead of leaving them running.
    done.abort();
  }
  return { actualMs, ticks, totals };
}

/**
 * Expected time for a perfect client: each connection's requests leave at its bucket's slots
 * (0 for the first `capacity`, then one per 1/refill) and each answer takes a uniform
 * [min, max]. The run ends with the latest answer, T = max(slot + latency), whose expectation
 * is lo + ∫ P(T > t) dt over [lo, hi], with P(T ≤ t) = Π F(t − slot) (F the latency's CDF).
 */
export function leastTimeMs(creates: number[], capacity: number, refillPerSecond: number, [min, max]: [number, number]): number {
  const slots = creates.flatMap((n) => Array.from({ length: n }, (_, j) => (Math.max(0, j - capacity + 1) / refillPerSecond) * 1000));
  const lastSlot = Math.max(0, ...slots);
  if (max === min) return lastSlot + min;
  // Only requests sent within `max - min` of the last one can still be answering after lo.
  const late = slots.filter((slot) => slot > lastSlot - (max - min));
  const cdf = (x: number) => Math.min(1, Math.max(0, (x - min) / (max - min)));
  const lo = lastSlot + min;
  const hi = lastSlot + max;
  const stepMs = 0.5;
  let expected = lo;
  for (let t = lo; t < hi; t += stepMs) {
    const mid = t + stepMs / 2;
    expected += (1 - late.reduce((p, slot) => p * cdf(mid - slot), 1)) * stepMs;
  }
  return expected;
}

/**
 * The expected least time for a client that works each connection the way Fanout's lanes start
 * on a connection of unknown health: one request, then, at its answer, as many as its bucket
 * holds, and one token of headroom below the server's capacity (see src/sync/reconciler.ts and
 * src/ofauth/rate-limiter.ts). OFAuth's bucket sits full while that first answer is awaited, so
 * this is above leastTimeMs by about the slowest connection's first answer: the best ratio
 * such a client can reach. A seeded Monte Carlo over the latencies (the same figure every run).
 */
export function coldLaneLeastMs(creates: number[], capacity: number, refillPerSecond: number, [min, max]: [number, number], headroom = 1): number {
  const random = mulberry32(20261203);
  const latency = () => min + (max - min) * random();
  const perTokenMs = 1000 / refillPerSecond;
  const ownCapacity = Math.max(1, capacity - headroom);
  const trials = 2000;
  let total = 0;
  for (let trial = 0; trial < trials; trial++) {
    let slowest = 0;
    for (const n of creates) {
      if (n > 0) slowest = Math.max(slowest, coldLaneDoneMs(n, ownCapacity, perTokenMs, latency));
    }
    total += slowest;
  }
  return total / trials;
}

/** One connection's last answer for coldLaneLeastMs: n requests, the first alone. */
function coldLaneDoneMs(n: number, ownCapacity: number, perTokenMs: number, latency: () => number): number {
  const firstAnswerMs = latency();
  // By the first answer the bucket has refilled the first request's token, or what it could of it.
  let tokens = Math.min(ownCapacity, ownCapacity - 1 + firstAnswerMs / perTokenMs);
  let at = firstAnswerMs;
  let done = firstAnswerMs;
  for (let i = 1; i < n; i++) {
    if (tokens < 1) {
      at += (1 - tokens) * perTokenMs;
      tokens = 1;
    }
    tokens -= 1;
    done = Math.max(done, at + latency());
  }
  return done;
}

/** Last send by the buckets plus the least latency: no client can be faster. */
export function boundTimeMs(creates: number[], shape: RoundShape): number {
  return (Math.max(0, Math.max(...creates) - shape.bucket.capacity) / shape.bucket.refillPerSecond) * 1000 + shape.latencyMs[0];
}

/** "100-400" → [100, 400]; a single number N means N–N. */
export function parseLatency(text: string): [number, number] {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const min = Number(match?.[1]);
  const max = Number(match?.[2] ?? match?.[1]);
  if (match === null || !(max >= min)) throw new Error(`--latency must be MIN-MAX in ms (e.g. 100-400), got ${JSON.stringify(text)}`);
  return [min, max];
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
