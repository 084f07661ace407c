import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiProxy } from '../helpers/crash/api-proxy.ts';
import { createApi, expectStatus, type Api } from '../helpers/crash/api.ts';
import {
  FOLLOW_UP_ENV,
  FOLLOW_UP_SIM,
  checkFollowUpScenario,
  lastDueAt,
  planFollowUpCampaigns,
  readScenario,
  whyFollowUpUnsettled,
  type FollowUpPlan,
  type ScenarioCampaign,
} from '../helpers/crash/follow-ups.ts';
import { killRepeatedly } from '../helpers/crash/kill-loop.ts';
import { createRng, seedFrom } from '../helpers/crash/random.ts';
import { crashServerEnv, killPhaseFaults, watchOfauthWrites } from '../helpers/crash/rig.ts';
import { ServerProcess, findFreePort, snapshotApp } from '../helpers/crash/server-process.ts';
import { runWorkload, type CampaignModel } from '../helpers/crash/workload.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

/*
 * The crash test's follow-ups and auto-unsend (see ../helpers/crash/follow-ups.ts): the server
 * as a child process, SIGKILLed at random and at OFAuth writes in flight (buyers-list creates
 * and adds, follow-up creates, unsends among them) from the first create until a while after
 * the last follow-up and unsend fell due, against a simulator with after-commit faults. Then
 * faults off, one last start, and every invariant checked against the simulator's own record.
 *
 * Real time, as the other crash test: follow-ups and unsends are due a minute after sending,
 * so a run takes about two and a half minutes. CRASH_FULL=1 (npm run test:crash) runs more
 * campaigns; CRASH_SEED fixes the plan, the faults and the kill moments.
 */

const isFull = process.env.CRASH_FULL === '1';
const seed = seedFrom(process.env.CRASH_SEED);
const reproduce = `CRASH_SEED=${seed} ${isFull ? 'CRASH_FULL=1 ' : ''}npx vitest run test/sync/crash-follow-ups.test.ts`;
const profile = isFull ? { campaigns: 18, minKills: 30 } : { campaigns: 6, minKills: 10 };
/** The last campaign is due this long after the start, and kills go on this long after the last follow-up or unsend is due. */
const START_IN_MS = 30_000;
const KILL_AFTER_DUE_MS = 15_000;
const CONVERGE_MS = 90_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TOKEN = `crash-fu-admin-${seed}-0123456789abcdef`;

async function waitForScenario(api: Api, models: Array<CampaignModel & { plan: FollowUpPlan }>): Promise<{ campaigns: ScenarioCampaign[]; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const status = await api.read('/v1/sync/status');
    expectStatus(status, 200, 'GET /v1/sync/status');
    const { backlog, inFlight } = status.body as { backlog: unknown[]; inFlight: number };
    const campaigns = await readScenario(api, models);
    const unsettled = campaigns.map(whyFollowUpUnsettled).filter((why): why is string => why !== null);
    if (backlog.length === 0 && inFlight === 0 && unsettled.length === 0) return { campaigns, waitedMs: Date.now() - started };
    if (Date.now() - started > CONVERGE_MS) throw new Error(`not converged after ${CONVERGE_MS} ms: backlog=${JSON.stringify(backlog)} inFlight=${inFlight}\n  ${unsettled.join('\n  ')}`);
    await delay(500);
  }
}

describe('crash recovery: follow-ups and auto-unsend while the server is SIGKILLed', () => {
  let sim: StartedSimulator | null = null;
  let server: ServerProcess | null = null;
  let proxy: ApiProxy | null = null;
  let workDir: string | null = null;
  const teardown = new AbortController();

  afterEach(async ({ task }) => {
    teardown.abort();
    const isFailed = task.result?.state === 'fail';
    if (isFailed) {
      console.error(
        `\n[crash-fu] FAILED with seed ${seed}. Reproduce with:\n  ${reproduce}\n[crash-fu] database kept in ${workDir}\n` +
          `[crash-fu] server timeline: ${server?.timeline.join(', ') || '(none)'}\n[crash-fu] last server output:\n${server?.logTail() || '(none)'}\n`,
      );
    }
    await server?.close();
    await proxy?.close();
    await sim?.close();
    if (workDir && !isFailed) await rm(workDir, { recursive: true, force: true });
  });

  it(
    `makes one follow-up per original, to non-buyers only, and every due unsend once, through ${profile.minKills}+ SIGKILLs (seed ${seed})`,
    async () => {
      const startedAt = Date.now();
      sim = await startSimulator({
        ...FOLLOW_UP_SIM,
        rateLimit: { capacity: 2_000, refillPerSecond: 1_000 },
        faults: killPhaseFaults(seed),
      });
      const activity = new EventEmitter();
      // The kill loop aims some kills at writes in flight: OFAuth's (seen here) and the API's.
      watchOfauthWrites(sim.app.server, activity);
      workDir = await mkdtemp(join(tmpdir(), 'fanout-crash-fu-'));
      const port = await findFreePort();
      server = new ServerProcess({
        cwd: await snapshotApp(ROOT, join(workDir, 'app')),
        port,
        env: crashServerEnv({ port, workDir, adminToken: ADMIN_TOKEN, sim, extra: FOLLOW_UP_ENV }),
      });
      proxy = await ApiProxy.start(port, activity);
      const api = createApi(server, ADMIN_TOKEN, { baseUrl: proxy.url, activity });

      const plans = planFollowUpCampaigns({ seed, count: profile.campaigns, first: 0, connectionId: sim.connectionId, now: Date.now(), startInMs: START_IN_MS });
      const models = plans.map((plan) => ({ plan, id: null, confirmedRevision: 0, isCanceled: false, isPaused: false, nextOperation: 0, isBusy: false }));
      const killUntil = lastDueAt(plans, FOLLOW_UP_SIM.sendDurationMs) + KILL_AFTER_DUE_MS;

      let isWorkDone = false;
      const stopOnFailure = (error: unknown) => {
        teardown.abort();
        throw error;
      };
      const [work, killsAt] = await Promise.all([
        // The creates in the first two lives: the campaigns are due half a minute out.
        runWorkload({ api, server, rng: createRng(seed ^ 0x5bd1e995), campaigns: models, concurrency: 3, thinkMaxMs: 100, lives: 2, signal: teardown.signal })
          .finally(() => {
            isWorkDone = true;
          })
          .catch(stopOnFailure),
        killRepeatedly(server, createRng(seed ^ 0x27d4eb2f), {
          minKills: profile.minKills,
          uptimeMs: [300, 2_500],
          activity,
          armAnswerHold: (hold) => proxy?.arm(hold),
          isWorkDone: () => isWorkDone && Date.now() > killUntil,
          signal: teardown.signal,
        }).catch(stopOnFailure),
      ]);
      const kills = Object.values(killsAt).reduce((a, b) => a + b, 0);

      sim.setFaults({});
      await server.start();
      const { campaigns, waitedMs } = await waitForScenario(api, models);
      const remote = sim.messages();
      const violations = checkFollowUpScenario(campaigns, sim, remote);
      const requests = sim.requestCounts();
      const followUps = campaigns.flatMap((c) => c.sends.filter((s) => s.kind === 'follow_up'));
      console.log(
        `[crash-fu] seed=${seed} campaigns=${models.length} kills=${kills} ${JSON.stringify(killsAt)} apiCallsCutByKill=${work.cutByKill} createReplays=${work.createReplays} ` +
          `followUps=${followUps.length} (buyers ${followUps.reduce((n, s) => n + (s.followUp?.buyers ?? 0), 0)}) unsent=${campaigns.filter((c) => c.sends.some((s) => s.status === 'unsent')).length} ` +
          `remoteMessages=${remote.length} listCreates=${Object.entries(requests).filter(([k]) => k.startsWith('POST /v2/access/users/lists ')).map(([k, n]) => `${k.split(' ').at(-1)}:${n}`).join(',')} ` +
          `converge=${waitedMs}ms total=${Date.now() - startedAt}ms`,
      );
      const context = `seed ${seed}; reproduce: ${reproduce}`;
      expect(server.unexpectedExits, `server exits nobody asked for (${context})`).toEqual([]);
      expect(kills, `SIGKILLs (${context})`).toBeGreaterThanOrEqual(profile.minKills);
      expect(models.filter((m) => m.id === null).map((m) => `c${m.plan.index}`), `creates never accepted (${context})`).toEqual([]);
      expect(violations, `follow-up and unsend invariant violations (${context})`).toEqual([]);
      expect(followUps.length, `follow-ups (${context})`).toBe(plans.filter((p) => p.kind !== 'unsend').length);
    },
    isFull ? 10 * 60_000 : 300_000,
  );
});
