import { setTimeout as delay } from 'node:timers/promises';
import { ServerGoneError, expectStatus, type Api, type CampaignView, type ServerLike } from './api.ts';
import type { Rng } from './random.ts';

/** pause and resume only in a series' script (see ./series.ts). */
export type Operation = { kind: 'create' } | { kind: 'edit'; revision: number } | { kind: 'cancel' } | { kind: 'pause' } | { kind: 'resume' };

/** A series' schedule in the crash test: every occurrence a day out, all within RECURRENCE_LEAD. */
export interface SeriesSchedule {
  cron: string;
  timezone: 'UTC';
  maxOccurrences: number;
}

/** What the marketer will do to one campaign, decided up front from the seed. */
export interface CampaignPlan {
  index: number;
  connectionId: string;
  idempotencyKey: string;
  name: string;
  scheduledAt: string;
  price: number;
  /** Text of revision n at texts[n - 1]; every text in the run is unique. */
  texts: string[];
  cancel: boolean;
  operations: Operation[];
  /** A series (scheduledAt is then its start); null for a one-shot. */
  recurrence: SeriesSchedule | null;
  /** Create-body parts beyond the defaults (an audience, message fields, followUps): see ./follow-ups.ts. */
  extras?: { audience?: Record<string, unknown>; message?: Record<string, unknown>; followUps?: unknown[] };
}

/** What the API has confirmed so far; at the end, the expected final state. */
export interface CampaignModel {
  plan: CampaignPlan;
  /** Set once a create answered 201 (first answer or idempotent replay). */
  id: string | null;
  /** Revision whose text the API has confirmed (0 before the create). */
  confirmedRevision: number;
  isCanceled: boolean;
  /** A series paused by the last confirmed pause (and not resumed since). */
  isPaused: boolean;
  nextOperation: number;
  isBusy: boolean;
}

export interface WorkloadStats {
  operations: number;
  /** API calls whose connection died under them (outcome unknown to the caller). */
  cutByKill: number;
  /** Creates repeated with the same Idempotency-Key after a cut. */
  createReplays: number;
  /** Edits/cancels that a re-read showed had taken effect before the kill. */
  foundApplied: number;
  /** Edits/cancels that a re-read showed had not, and were sent again. */
  reapplied: number;
}

const DAY_MS = 24 * 60 * 60_000;
const WORDS = ['velvet', 'sunset', 'preview', 'bundle', 'exclusive', 'weekend', 'drop', 'studio', 'midnight', 'encore', 'teaser', 'golden'];

/**
 * Campaign scripts: create, 0–3 text edits, and for about a third a cancel at the end. Texts
 * carry the seed, the index and the revision (`c12r3`), so a remote message names its revision
 * unambiguously even after OFAuth-style normalisation (letters and digits only, lower case).
 */
export function planCampaigns(rng: Rng, options: { seed: number; count: number; connectionIds: string[]; now: number }): CampaignPlan[] {
  // Whole seconds, a day out: OFAuth dates have no milliseconds, and nothing starts sending.
  const base = Math.ceil((options.now + DAY_MS) / 1000) * 1000;
  return Array.from({ length: options.count }, (_, index) => {
    const edits = rng.int(0, 3);
    const cancel = rng.chance(0.3);
    const texts = Array.from({ length: edits + 1 }, (_, r) => {
      const words = Array.from({ length: 3 }, () => rng.pick(WORDS)).join(' ');
      return `Crash run ${options.seed} campaign c${index}r${r + 1}: ${words}`;
    });
    const operations: Operation[] = [{ kind: 'create' }, ...texts.slice(1).map((_, r) => ({ kind: 'edit' as const, revision: r + 2 }))];
    if (cancel) operations.push({ kind: 'cancel' });
    return {
      index,
      connectionId: options.connectionIds[index % options.connectionIds.length]!,
      idempotencyKey: `crash-${options.seed}-${index}`,
      name: `crash c${index}`,
      scheduledAt: new Date(base + index * 60_000).toISOString(),
      price: rng.chance(0.3) ? 9.99 : 0,
      texts,
      cancel,
      operations,
      recurrence: null,
    };
  });
}

export function createBodyOf(plan: CampaignPlan) {
  return {
    name: plan.name,
    connectionId: plan.connectionId,
    message: { text: plan.texts[0]!, price: plan.price, ...plan.extras?.message },
    audience: plan.extras?.audience ?? { userLists: [1, 2], excludeUserLists: [4] },
    scheduledAt: plan.scheduledAt,
    ...(plan.recurrence === null ? {} : { recurrence: plan.recurrence }),
    ...(plan.extras?.followUps === undefined ? {} : { followUps: plan.extras.followUps }),
  };
}

interface WorkloadDeps {
  api: Api;
  server: ServerLike;
  rng: Rng;
  campaigns: CampaignModel[];
  concurrency: number;
  /** Pause between one worker's operations, uniform in [0, max]: spreads the work within a life. */
  thinkMaxMs: number;
  /**
   * Server lives to spread the operations over: in life g, at most g/lives of them start, so the
   * workload cannot finish before the kills do (restarts take longer on a loaded machine).
   */
  lives: number;
  /** Set when the run is being torn down: workers stop taking operations. */
  signal: AbortSignal;
}

/**
 * Drives every campaign's script through the API with a few concurrent workers, one operation
 * per campaign at a time. A call cut by a kill is settled the way a careful client would:
 * creates are replayed with their Idempotency-Key, edits and cancels are re-read and re-sent
 * only if they did not take effect.
 */
export async function runWorkload(deps: WorkloadDeps): Promise<WorkloadStats> {
  const stats: WorkloadStats = { operations: 0, cutByKill: 0, createReplays: 0, foundApplied: 0, reapplied: 0 };
  const { api, server } = deps;
  const idle: Array<() => void> = [];
  const total = deps.campaigns.reduce((n, c) => n + c.plan.operations.length, 0);
  let started = 0;

  const available = () => deps.campaigns.filter((c) => !c.isBusy && c.nextOperation < c.plan.operations.length);
  const hasWork = () => deps.campaigns.some((c) => c.nextOperation < c.plan.operations.length);

  /** Runs `attempt` until it returns, settling cuts; `check` says whether a cut call took effect. */
  async function settle(what: string, attempt: () => Promise<void>, check?: () => Promise<boolean>): Promise<boolean> {
    let transient = 0;
    let wasCut = false;
    for (;;) {
      const generation = await server.ready();
      try {
        await attempt();
        return wasCut;
      } catch (error) {
        if (!(error instanceof ServerGoneError)) throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        stats.cutByKill++;
        wasCut = true;
        transient = await api.recover(generation, transient);
        if (check && (await check())) {
          stats.foundApplied++;
          return true;
        }
        if (check) stats.reapplied++;
      }
    }
  }

  async function current(c: CampaignModel): Promise<CampaignView> {
    const response = await api.read(`/v1/campaigns/${c.id}`);
    expectStatus(response, 200, `GET campaign c${c.plan.index}`);
    return response.body as CampaignView;
  }

  async function perform(c: CampaignModel, operation: Operation): Promise<void> {
    const label = `c${c.plan.index} ${operation.kind}${operation.kind === 'edit' ? ` r${operation.revision}` : ''}`;
    if (operation.kind === 'create') {
      const wasCut = await settle(label, async () => {
        const response = await api.send('POST', '/v1/campaigns', createBodyOf(c.plan), { 'idempotency-key': c.plan.idempotencyKey });
        expectStatus(response, 201, label);
        const view = response.body as CampaignView;
        if (view.message.text !== c.plan.texts[0]) throw new Error(`${label}: answered text ${JSON.stringify(view.message.text)}`);
        c.id = view.id;
      });
      if (wasCut) stats.createReplays++;
      c.confirmedRevision = 1;
      return;
    }
    if (operation.kind === 'edit') {
      const text = c.plan.texts[operation.revision - 1]!;
      await settle(
        label,
        async () => {
          const response = await api.send('PATCH', `/v1/campaigns/${c.id}`, { message: { text } });
          expectStatus(response, 200, label);
          if ((response.body as CampaignView).message.text !== text) throw new Error(`${label}: the answer does not carry the new text`);
        },
        async () => (await current(c)).message.text === text,
      );
      c.confirmedRevision = operation.revision;
      return;
    }
    if (operation.kind === 'pause' || operation.kind === 'resume') {
      const expected = operation.kind === 'pause' ? 'paused' : 'scheduled';
      await settle(
        label,
        async () => {
          const response = await api.send('POST', `/v1/campaigns/${c.id}/${operation.kind}`, {});
          expectStatus(response, 200, label);
        },
        async () => (await current(c)).status === expected,
      );
      c.isPaused = operation.kind === 'pause';
      return;
    }
    await settle(
      label,
      async () => {
        const response = await api.send('POST', `/v1/campaigns/${c.id}/cancel`, {});
        expectStatus(response, 200, label);
      },
      async () => (await current(c)).status === 'canceled',
    );
    c.isCanceled = true;
    c.isPaused = false;
  }

  async function worker(): Promise<void> {
    while (!deps.signal.aborted && hasWork()) {
      if (started / total >= server.generation / deps.lives) {
        await server.ready(server.generation + 1);
        continue;
      }
      const ready = available();
      if (ready.length === 0) {
        // Every remaining campaign is mid-operation on another worker: wait for one to finish.
        await new Promise<void>((resolve) => idle.push(resolve));
        continue;
      }
      const c = deps.rng.pick(ready);
      const operation = c.plan.operations[c.nextOperation]!;
      c.isBusy = true;
      started++;
      try {
        await perform(c, operation);
        c.nextOperation++;
        stats.operations++;
      } finally {
        c.isBusy = false;
        for (const resolve of idle.splice(0)) resolve();
      }
      await delay(deps.rng.int(0, deps.thinkMaxMs));
    }
  }

  await Promise.all(Array.from({ length: deps.concurrency }, () => worker()));
  return stats;
}
