import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiProxy } from '../helpers/crash/api-proxy.ts';
import { createApi } from '../helpers/crash/api.ts';
import { killRepeatedly } from '../helpers/crash/kill-loop.ts';
import { createRng, seedFrom } from '../helpers/crash/random.ts';
import { SERIES_ENV, planSeries, seriesOfRun } from '../helpers/crash/series.ts';
import { SECOND_CONNECTION, crashConnections, crashServerEnv, killPhaseFaults, sumCounts, watchOfauthWrites } from '../helpers/crash/rig.ts';
import { ServerProcess, findFreePort, snapshotApp } from '../helpers/crash/server-process.ts';
import { checkInvariants, collectEventFigures, waitForConvergence } from '../helpers/crash/verify.ts';
import { planCampaigns, runWorkload, type CampaignModel } from '../helpers/crash/workload.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

/*
 * The crash test from the issue: src/server.ts as a child process against the simulator with
 * faults on, campaigns created, edited and canceled through the API while the child is
 * SIGKILLed at random moments and restarted on the same database. Then faults off, one last
 * start, and the remote queue must match the campaigns exactly: no duplicate send, no loss.
 *
 * Short by default (part of `npm test`); `npm run test:crash` (CRASH_FULL=1) runs the full size.
 * CRASH_SEED fixes the plan, the fault schedule and the kill moments; the interleaving of real
 * processes still varies from run to run.
 */

const isFull = process.env.CRASH_FULL === '1';
const seed = seedFrom(process.env.CRASH_SEED);
const reproduce = isFull ? `CRASH_SEED=${seed} npm run test:crash` : `CRASH_SEED=${seed} npx vitest run test/sync/crash.test.ts`;

// The short run took 72 s alone on 2 cores, but 180 s was not enough once every server life also
// loads the dashboard and the PostgreSQL driver on a machine loaded by other test runs (load 8–12).
const profile = isFull
  ? { campaigns: 200, series: 30, minKills: 20, uptimeMs: [400, 3_000] as [number, number], convergeMs: 240_000, testMs: 15 * 60_000 }
  : { campaigns: 40, series: 6, minKills: 7, uptimeMs: [300, 2_000] as [number, number], convergeMs: 60_000, testMs: 300_000 };
const CONCURRENCY = 6;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TOKEN = `crash-admin-${seed}-0123456789abcdef`;

describe('crash recovery: server SIGKILLed while syncing against a faulty OFAuth', () => {
  let sim: StartedSimulator | null = null;
  let server: ServerProcess | null = null;
  let proxy: ApiProxy | null = null;
  let workDir: string | null = null;
  let progress = () => '(not started)';
  const teardown = new AbortController();

  afterEach(async ({ task }) => {
    teardown.abort();
    const isFailed = task.result?.state === 'fail';
    if (isFailed) {
      // The database is kept for a look (sqlite3 fanout.db); the seed replays the same plan.
      console.error(
        `\n[crash] FAILED with seed ${seed}. Reproduce with:\n  ${reproduce}\n` +
          `[crash] database kept in ${workDir}\n[crash] progress: ${progress()}\n` +
          `[crash] server timeline: ${server?.timeline.join(', ') || '(none)'}\n[crash] last server output:\n${server?.logTail() || '(none)'}\n`,
      );
    }
    await server?.close();
    await proxy?.close();
    await sim?.close();
    if (workDir && !isFailed) await rm(workDir, { recursive: true, force: true });
  });

  it(
    `converges with ${profile.campaigns} campaigns, ${profile.series} series and at least ${profile.minKills} SIGKILLs (seed ${seed})`,
    async () => {
      const startedAt = Date.now();
      sim = await startSimulator({
        connections: crashConnections,
        // Generous buckets: the point is faults and crashes, not a 1/s drip.
        rateLimit: { capacity: 2_000, refillPerSecond: 1_000 },
        faults: killPhaseFaults(seed),
      });
      // The kill loop aims some kills at writes in flight: OFAuth's (seen here) and the API's.
      const activity = new EventEmitter();
      watchOfauthWrites(sim.app.server, activity);
      workDir = await mkdtemp(join(tmpdir(), 'fanout-crash-'));
      const port = await findFreePort();
      server = new ServerProcess({
        cwd: await snapshotApp(ROOT, join(workDir, 'app')),
        port,
        env: crashServerEnv({ port, workDir, adminToken: ADMIN_TOKEN, sim, extra: SERIES_ENV }),
      });
      proxy = await ApiProxy.start(port, activity);
      const api = createApi(server, ADMIN_TOKEN, { baseUrl: proxy.url, activity });

      const connectionIds = [sim.connectionId, SECOND_CONNECTION];
      const plans = [
        ...planCampaigns(createRng(seed), { seed, count: profile.campaigns, connectionIds, now: Date.now() }),
        ...planSeries(createRng(seed ^ 0x9e3779b9), { seed, count: profile.series, first: profile.campaigns, connectionIds, now: Date.now() }),
      ];
      const models: CampaignModel[] = plans.map((plan) => ({ plan, id: null, confirmedRevision: 0, isCanceled: false, isPaused: false, nextOperation: 0, isBusy: false }));
      const series = seriesOfRun(api, models);
      const seriesModels = series.models;
      const totalOperations = plans.reduce((n, p) => n + p.operations.length, 0);
      progress = () => `${models.reduce((n, m) => n + m.nextOperation, 0)}/${totalOperations} API operations done`;
      // Operations are spread over the server lives (runWorkload gates them) and, by think time,
      // within each life, so edits and cancels meet every stage of sync.
      const meanUptimeMs = (profile.uptimeMs[0] + profile.uptimeMs[1]) / 2;
      const thinkMaxMs = Math.round((2 * profile.minKills * meanUptimeMs * CONCURRENCY) / totalOperations);

      // Phase 1: the workload and the kills at once.
      let isWorkDone = false;
      const stopOnFailure = (error: unknown) => {
        teardown.abort();
        throw error;
      };
      const [work, killsAt] = await Promise.all([
        runWorkload({ api, server, rng: createRng(seed ^ 0x5bd1e995), campaigns: models, concurrency: CONCURRENCY, thinkMaxMs, lives: profile.minKills, signal: teardown.signal })
          .finally(() => {
            isWorkDone = true;
          })
          .catch(stopOnFailure),
        killRepeatedly(server, createRng(seed ^ 0x27d4eb2f), {
          minKills: profile.minKills,
          uptimeMs: profile.uptimeMs,
          activity,
          armAnswerHold: (hold) => proxy?.arm(hold),
          isWorkDone: () => isWorkDone,
          signal: teardown.signal,
        }).catch(stopOnFailure),
      ]);
      const killPhaseMs = Date.now() - startedAt;
      const kills = Object.values(killsAt).reduce((a, b) => a + b, 0);

      // Phase 2: OFAuth healthy again, one last start, and wait for the sync loop to settle.
      sim.setFaults({});
      await server.start();
      const { campaigns, waitedMs } = await waitForConvergence(api, profile.convergeMs, series.unsettled);
      const remote = sim.messages();
      const seriesVerdict = await series.verdict(remote);
      const verdict = checkInvariants(models, campaigns, remote, seriesVerdict.owners);
      const seriesViolations = seriesVerdict.violations;
      const seriesSends = seriesVerdict.sends;
      const figures = await collectEventFigures(api, campaigns.map((c) => c.id));
      const requests = sim.requestCounts();
      const exitCode = await server.stop();

      console.log(
        `[crash] seed=${seed} campaigns=${models.length} (live ${verdict.liveCampaigns}, canceled ${verdict.canceledCampaigns}) ` +
          `operations=${work.operations} kills=${kills} ${JSON.stringify(killsAt)} apiCallsCutByKill=${work.cutByKill} createReplays=${work.createReplays} ` +
          `cutFoundApplied=${work.foundApplied} cutReapplied=${work.reapplied} ` +
          `simFaults={5xx:${sumCounts(requests, ' 500')}, dropped:${sumCounts(requests, ' dropped')}} ` +
          `ambiguousCreates=${figures.ambiguousCreates} createsInterruptedByKill=${figures.interruptedCreates} ` +
          `adoptions=${figures.adopted} provenAbsent=${figures.createAbsent} remoteCreated=${figures.remoteCreated} ` +
          `syncErrors=${figures.syncErrors} ${JSON.stringify(figures.syncErrorsBy)} remoteMessages=${sim.messages().length} ` +
          `duplicates=${verdict.duplicates} unclaimed=${verdict.unclaimed} ` +
          `series=${seriesModels.length} (running ${seriesModels.filter((m) => !m.isCanceled && !m.isPaused).length}, paused ${seriesModels.filter((m) => m.isPaused).length}, ` +
          `canceled ${seriesModels.filter((m) => m.isCanceled).length}) seriesSends=${seriesSends.length} (queued ${seriesSends.filter((s) => s.status === 'queued').length}) ` +
          `killPhase=${killPhaseMs}ms converge=${waitedMs}ms total=${Date.now() - startedAt}ms finalExit=${exitCode}`,
      );

      const context = `seed ${seed}; reproduce: ${reproduce}`;
      expect(server.unexpectedExits, `server exits nobody asked for (${context})`).toEqual([]);
      expect(kills, `SIGKILLs (${context})`).toBeGreaterThanOrEqual(profile.minKills);
      expect(models.filter((m) => m.nextOperation < m.plan.operations.length).map((m) => `c${m.plan.index}`), `unfinished scripts (${context})`).toEqual([]);
      expect(verdict.violations, `invariant violations (${context})`).toEqual([]);
      expect(seriesViolations, `series invariant violations (${context})`).toEqual([]);
      expect(verdict.duplicates, `live remote messages no campaign owns (${context})`).toBe(0);
    },
    profile.testMs,
  );
});
