import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi } from '../helpers/crash/api.ts';
import { createRng, seedFrom } from '../helpers/crash/random.ts';
import { SERIES_ENV, planSeries, seriesOfRun } from '../helpers/crash/series.ts';
import { ServerGroup, killAcrossGroup } from '../helpers/crash/server-group.ts';
import { SECOND_CONNECTION, crashConnections, crashServerEnv, killPhaseFaults, sumCounts } from '../helpers/crash/rig.ts';
import { ServerProcess, findFreePort, snapshotApp } from '../helpers/crash/server-process.ts';
import { checkInvariants, collectEventFigures, waitForConvergence } from '../helpers/crash/verify.ts';
import { planCampaigns, runWorkload, type CampaignModel } from '../helpers/crash/workload.ts';
import { createTestPgDatabase, type TestPgDatabase } from '../helpers/postgres.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

/*
 * The multi-instance crash test from the issue: three src/server.ts processes on one PostgreSQL
 * database (the run's embedded server) against the simulator with faults on; campaigns (one-shots
 * and series) created, edited, paused, resumed and canceled through all three (each request to a
 * random live one, as a load balancer spreads them) while random instances are SIGKILLed and
 * restarted. Then faults off, and the remote queue must match the campaigns and series sends
 * exactly, with no 429 from the simulator, whose bucket is the one the instances are configured
 * with: N instances never spend more than one.
 *
 * Short in `npm test`; `npm run test:crash:pg` (CRASH_FULL=1) runs the full one (200 campaigns,
 * 30 of them series, ≥ 20 kills). CRASH_SEED fixes the plan and kill moments.
 */

const isFull = process.env.CRASH_FULL === '1';
const seed = seedFrom(process.env.CRASH_SEED);
const reproduce = isFull ? `CRASH_SEED=${seed} npm run test:crash:pg` : `CRASH_SEED=${seed} npx vitest run --project main test/instances/crash-pg.test.ts`;
const profile = isFull
  ? { campaigns: 170, series: 30, minKills: 20, uptimeMs: [500, 3_000] as [number, number], convergeMs: 240_000, testMs: 20 * 60_000 }
  : { campaigns: 24, series: 4, minKills: 6, uptimeMs: [500, 2_500] as [number, number], convergeMs: 120_000, testMs: 8 * 60_000 };
const INSTANCES = 3;
const CONCURRENCY = 6;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TOKEN = `crash-pg-admin-${seed}-0123456789abcdef`;
/** The per-connection bucket, the same on the simulator and in every instance's configuration. */
const BUCKET = { capacity: 100, refillPerSecond: 50 };

describe('crash recovery: three instances on one PostgreSQL, SIGKILLed at random', () => {
  let sim: StartedSimulator | null = null;
  let group: ServerGroup | null = null;
  let database: TestPgDatabase | null = null;
  let workDir: string | null = null;
  const teardown = new AbortController();

  afterEach(async ({ task }) => {
    teardown.abort();
    if (task.result?.state === 'fail') {
      console.error(`\n[crash:pg] FAILED with seed ${seed}. Reproduce with:\n  ${reproduce}\n`);
      for (const [i, m] of (group?.members ?? []).entries()) console.error(`[crash:pg] instance ${i} timeline: ${m.timeline.join(', ')}\n${m.logTail()}\n`);
    }
    await group?.close();
    await sim?.close();
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it(
    `converges with ${profile.campaigns} campaigns over ${INSTANCES} instances and at least ${profile.minKills} SIGKILLs (seed ${seed})`,
    async () => {
      const startedAt = Date.now();
      sim = await startSimulator({
        connections: crashConnections,
        rateLimit: BUCKET,
        faults: killPhaseFaults(seed),
      });
      database = await createTestPgDatabase();
      workDir = await mkdtemp(join(tmpdir(), 'fanout-crash-pg-'));
      const cwd = await snapshotApp(ROOT, join(workDir, 'app'));
      const members: ServerProcess[] = [];
      for (let i = 0; i < INSTANCES; i++) {
        const port = await findFreePort();
        members.push(
          new ServerProcess({
            cwd,
            port,
            // Half the kills leave a stable slot (restart takes its leases back at once); the
            // others a fresh id each life (its connections wait for a takeover by the others).
            env: crashServerEnv({
              port,
              workDir,
              adminToken: ADMIN_TOKEN,
              sim,
              instanceId: i % 2 === 0 ? `crash-pg-slot-${i}` : null,
              extra: {
                DATABASE_URL: database.url,
                DATABASE_POOL_SIZE: '4',
                OFAUTH_RATE_CAPACITY: String(BUCKET.capacity),
                OFAUTH_RATE_PER_MINUTE: String(BUCKET.refillPerSecond * 60),
                ...SERIES_ENV,
              },
            }),
          }),
        );
      }
      group = new ServerGroup(members, createRng(seed ^ 0x1b873593));
      await group.startAll();
      const api = createApi(group, ADMIN_TOKEN);

      const connectionIds = [sim.connectionId, SECOND_CONNECTION];
      const plans = [
        ...planCampaigns(createRng(seed), { seed, count: profile.campaigns, connectionIds, now: Date.now() }),
        ...planSeries(createRng(seed ^ 0x9e3779b9), { seed, count: profile.series, first: profile.campaigns, connectionIds, now: Date.now() }),
      ];
      const models: CampaignModel[] = plans.map((plan) => ({ plan, id: null, confirmedRevision: 0, isCanceled: false, isPaused: false, nextOperation: 0, isBusy: false }));
      const series = seriesOfRun(api, models);
      const totalOperations = plans.reduce((n, p) => n + p.operations.length, 0);
      const meanUptimeMs = (profile.uptimeMs[0] + profile.uptimeMs[1]) / 2;
      const thinkMaxMs = Math.round((2 * profile.minKills * meanUptimeMs * CONCURRENCY) / totalOperations);

      let isWorkDone = false;
      const stopOnFailure = (error: unknown) => {
        teardown.abort();
        throw error;
      };
      const [work, kills] = await Promise.all([
        runWorkload({ api, server: group, rng: createRng(seed ^ 0x5bd1e995), campaigns: models, concurrency: CONCURRENCY, thinkMaxMs, lives: profile.minKills, signal: teardown.signal })
          .finally(() => {
            isWorkDone = true;
          })
          .catch(stopOnFailure),
        killAcrossGroup(group, createRng(seed ^ 0x27d4eb2f), { minKills: profile.minKills, uptimeMs: profile.uptimeMs, isWorkDone: () => isWorkDone, signal: teardown.signal }).catch(stopOnFailure),
      ]);
      const killPhaseMs = Date.now() - startedAt;

      sim.setFaults({});
      const { campaigns, waitedMs } = await waitForConvergence(api, profile.convergeMs, series.unsettled);
      const remote = sim.messages();
      const seriesVerdict = await series.verdict(remote);
      const verdict = checkInvariants(models, campaigns, remote, seriesVerdict.owners);
      const figures = await collectEventFigures(api, campaigns.map((c) => c.id));
      const status = (await api.read('/v1/sync/status')).body as { instances: Array<{ id: string; connectionsHeld: number }> };
      const requests = sim.requestCounts();

      console.log(
        `[crash:pg] seed=${seed} instances=${INSTANCES} campaigns=${models.length} (live ${verdict.liveCampaigns}, canceled ${verdict.canceledCampaigns}) ` +
          `operations=${work.operations} kills=${JSON.stringify(kills)} apiCallsCutByKill=${work.cutByKill} createReplays=${work.createReplays} ` +
          `simFaults={5xx:${sumCounts(requests, ' 500')}, dropped:${sumCounts(requests, ' dropped')}} 429s=${sumCounts(requests, ' 429')} ` +
          `ambiguousCreates=${figures.ambiguousCreates} adoptions=${figures.adopted} remoteCreated=${figures.remoteCreated} ` +
          `remoteMessages=${remote.length} duplicates=${verdict.duplicates} unclaimed=${verdict.unclaimed} ` +
          `series=${series.models.length} (paused ${series.models.filter((m) => m.isPaused).length}, canceled ${series.models.filter((m) => m.isCanceled).length}) ` +
          `seriesSends=${seriesVerdict.sends.length} (queued ${seriesVerdict.sends.filter((s) => s.status === 'queued').length}) ` +
          `instancesAtEnd=${JSON.stringify(status.instances.map((i) => [i.id, i.connectionsHeld]))} ` +
          `killPhase=${killPhaseMs}ms converge=${waitedMs}ms total=${Date.now() - startedAt}ms`,
      );

      const context = `seed ${seed}; reproduce: ${reproduce}`;
      expect(group.unexpectedExits, `server exits nobody asked for (${context})`).toEqual([]);
      expect(kills.reduce((a, b) => a + b, 0), `SIGKILLs (${context})`).toBeGreaterThanOrEqual(profile.minKills);
      expect(models.filter((m) => m.nextOperation < m.plan.operations.length).map((m) => `c${m.plan.index}`), `unfinished scripts (${context})`).toEqual([]);
      expect(verdict.violations, `invariant violations (${context})`).toEqual([]);
      expect(seriesVerdict.violations, `series invariant violations (${context})`).toEqual([]);
      expect(verdict.duplicates, `live remote messages no campaign owns (${context})`).toBe(0);
      expect(verdict.unclaimed, `remote messages no send claims (${context})`).toBe(0);
      expect(sumCounts(requests, ' 429'), `429s from OFAuth: the instances together exceeded a bucket (${context})`).toBe(0);
    },
    profile.testMs,
  );
});
