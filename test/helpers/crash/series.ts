import type { SimMessage } from '../../../src/ofauth/simulator/app.ts';
import { toOfauthDate } from '../../../src/sync/remote-body.ts';
import { expectStatus, type Api } from './api.ts';
import type { Rng } from './random.ts';
import { isLiveRemote } from './verify.ts';
import type { CampaignModel, CampaignPlan, Operation } from './workload.ts';

/*
 * Series campaigns in the crash test: every ten minutes from a day out, 2–4 occurrences, all
 * within RECURRENCE_LEAD (SERIES_ENV), so each is a send queued in OFAuth with its date while
 * the server is being killed, and none goes out during the run. Their scripts pause, resume and
 * PATCH the text in between: a pause deletes the queued copies, a resume makes them again (once
 * the deletes are confirmed), an edit reaches every queued copy. At the end each occurrence of
 * a running series has exactly one live remote copy with the last text, a paused or canceled
 * series none, and no series has more occurrences than its maxOccurrences.
 */

/** Server settings the series need: a lead covering every occurrence, and a ten-minute cron allowed. */
export const SERIES_ENV = { RECURRENCE_LEAD: '48h', RECURRENCE_MIN_INTERVAL: '10m' } as const;

const DAY_MS = 24 * 60 * 60_000;
const STEP_MS = 10 * 60_000;

export interface SendView {
  id: string;
  occurrenceAt: string | null;
  status: string;
  reason: string | null;
  sync: { state: string; remoteId: string | null; revision: number; syncedRevision: number };
}

export interface SeriesView {
  id: string;
  status: string;
  nextOccurrenceAt: string | null;
  sends: SendView[];
}

/**
 * Series scripts: create, then 1–2 pause/resume pairs with 0–3 text edits spread among them
 * (some while paused); about a quarter end paused and a quarter canceled. Indexes continue the
 * one-shots' (`first`), so texts and idempotency keys stay unique in the run.
 */
export function planSeries(rng: Rng, options: { seed: number; count: number; first: number; connectionIds: string[]; now: number }): CampaignPlan[] {
  const start = Math.ceil((options.now + DAY_MS) / STEP_MS) * STEP_MS;
  return Array.from({ length: options.count }, (_, n) => {
    const index = options.first + n;
    const edits = rng.int(0, 3);
    const texts = Array.from({ length: edits + 1 }, (_, r) => `Crash run ${options.seed} series c${index}r${r + 1}: ${rng.pick(['weekly', 'drop', 'encore', 'teaser'])}`);
    const pauses: Operation[] = [];
    for (let p = rng.int(1, 2); p > 0; p--) pauses.push({ kind: 'pause' }, { kind: 'resume' });
    const ending = rng.int(0, 3);
    if (ending === 0) pauses.push({ kind: 'pause' });
    const cancel = ending === 1;
    // Each edit lands before a random pause/resume step: some reach queued copies, some a paused series.
    const operations: Operation[] = [{ kind: 'create' }, ...pauses];
    texts.slice(1).forEach((_, r) => operations.splice(rng.int(1, operations.length), 0, { kind: 'edit', revision: r + 2 }));
    // Edits keep their revision order whatever positions they drew.
    let revision = 2;
    for (const op of operations) if (op.kind === 'edit') op.revision = revision++;
    if (cancel) operations.push({ kind: 'cancel' });
    return {
      index,
      connectionId: options.connectionIds[index % options.connectionIds.length]!,
      idempotencyKey: `crash-${options.seed}-${index}`,
      name: `crash series c${index}`,
      scheduledAt: new Date(start + n * 60_000).toISOString(),
      price: 0,
      texts,
      cancel,
      operations,
      recurrence: { cron: '*/10 * * * *', timezone: 'UTC', maxOccurrences: rng.int(2, 4) },
    };
  });
}

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** A series with its sends, as the API shows them. */
export async function readSeries(api: Api, id: string): Promise<SeriesView> {
  const campaign = await api.read(`/v1/campaigns/${id}`);
  expectStatus(campaign, 200, `GET series ${id}`);
  const sends: SendView[] = [];
  let cursor: string | null = null;
  do {
    const page = await api.read(`/v1/campaigns/${id}/sends?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expectStatus(page, 200, `GET sends of ${id}`);
    const body = page.body as { items: SendView[]; nextCursor: string | null };
    sends.push(...body.items);
    cursor = body.nextCursor;
  } while (cursor !== null);
  const view = campaign.body as Omit<SeriesView, 'sends'>;
  return { id: view.id, status: view.status, nextOccurrenceAt: view.nextOccurrenceAt, sends };
}

/** Nothing left to do: canceled sends deleted (or never created), the rest queued at their revision, and no occurrence left to make. */
export function whyUnsettled(series: SeriesView): string | null {
  for (const s of series.sends) {
    if (s.status === 'canceled' ? s.sync.state !== 'deleted' && s.sync.state !== 'idle' : s.status !== 'queued' || s.sync.state !== 'synced' || s.sync.syncedRevision !== s.sync.revision) {
      return `${series.id} send ${s.id} (${s.occurrenceAt}) status=${s.status} sync=${JSON.stringify(s.sync)}`;
    }
  }
  if (series.status === 'scheduled' && series.nextOccurrenceAt !== null) return `${series.id} still has occurrences to make from ${series.nextOccurrenceAt}`;
  return null;
}

/**
 * The series invariants, as violations: the status the API confirmed; no occurrence with two
 * live remote copies (or two open sends); a running series has each of its maxOccurrences
 * occurrences queued once with its date and last text, a paused or canceled one none; and never
 * more occurrences than maxOccurrences ("beyondMax").
 */
export function checkSeries(model: CampaignModel, series: SeriesView, remote: SimMessage[]): string[] {
  const { plan } = model;
  const label = `series c${plan.index}`;
  const violations: string[] = [];
  const expected = model.isCanceled ? 'canceled' : model.isPaused ? 'paused' : 'scheduled';
  if (series.status !== expected) violations.push(`${label}: status ${series.status}, expected ${expected}`);
  const text = plan.texts[model.confirmedRevision - 1];
  const ownTexts = new Set(plan.texts);
  const live = remote.filter((m) => isLiveRemote(m) && m.connectionId === plan.connectionId && ownTexts.has(m.body.text ?? ''));
  const liveByDate = groupBy(live, (m) => m.body.scheduledDate ?? 'now');
  for (const [date, copies] of liveByDate) if (copies.length > 1) violations.push(`${label}: occurrence ${date} has ${copies.length} live remote copies (${copies.map((m) => m.id).join(', ')})`);

  const open = series.sends.filter((s) => s.status !== 'canceled' && s.status !== 'failed');
  for (const [at, sends] of groupBy(open, (s) => s.occurrenceAt)) if (sends.length > 1) violations.push(`${label}: occurrence ${at} has ${sends.length} open sends`);
  for (const s of series.sends.filter((x) => x.status === 'failed')) violations.push(`${label}: send ${s.id} (${s.occurrenceAt}) failed: ${s.reason}`);
  const occurrences = new Set(series.sends.map((s) => s.occurrenceAt));
  const max = plan.recurrence!.maxOccurrences;
  if (occurrences.size > max) violations.push(`${label}: ${occurrences.size} occurrences made, beyond maxOccurrences ${max}`);

  if (expected !== 'scheduled') {
    for (const m of live) violations.push(`${label}: ${expected}, but remote message ${m.id} (${m.body.scheduledDate}) is ${m.state}`);
    if (open.length > 0) violations.push(`${label}: ${expected}, but ${open.length} sends are open`);
    return violations;
  }
  if (open.length !== max) violations.push(`${label}: ${open.length} queued occurrences, expected ${max}`);
  const remoteById = new Map(remote.filter((m) => m.connectionId === plan.connectionId).map((m) => [String(m.id), m]));
  for (const s of open) {
    const copy = s.sync.remoteId === null ? undefined : remoteById.get(s.sync.remoteId);
    if (!copy || !isLiveRemote(copy)) {
      violations.push(`${label}: occurrence ${s.occurrenceAt} has no live remote copy (remoteId ${s.sync.remoteId})`);
      continue;
    }
    if (copy.body.text !== text) violations.push(`${label}: remote ${copy.id} text ${JSON.stringify(copy.body.text)}, expected ${JSON.stringify(text)}`);
    if (copy.body.scheduledDate !== toOfauthDate(Date.parse(s.occurrenceAt!))) violations.push(`${label}: remote ${copy.id} dated ${copy.body.scheduledDate}, occurrence ${s.occurrenceAt}`);
  }
  if (live.length !== open.length) violations.push(`${label}: ${live.length} live remote messages carry its texts, expected ${open.length}`);
  return violations;
}

/** Every remote id a series' sends hold (canceled ones included: a deleted copy stays theirs). */
export function remoteOwnersOf(plan: CampaignPlan, series: SeriesView): Array<{ connectionId: string; remoteId: string; owner: string }> {
  return series.sends.filter((s) => s.sync.remoteId !== null).map((s) => ({ connectionId: plan.connectionId, remoteId: s.sync.remoteId!, owner: `${series.id}/${s.id}` }));
}

/** A run's series: why any is unsettled (for waitForConvergence), and, once converged, their owners and violations. */
export function seriesOfRun(api: Api, models: CampaignModel[]) {
  const seriesModels = models.filter((m) => m.plan.recurrence !== null);
  const readAll = () => Promise.all(seriesModels.filter((m) => m.id !== null).map((m) => readSeries(api, m.id!)));
  return {
    models: seriesModels,
    unsettled: async () => (await readAll()).map(whyUnsettled).filter((why): why is string => why !== null),
    /** Read after convergence: the remote ids series sends own (for checkInvariants), series violations, and every series send. */
    async verdict(remote: SimMessage[]) {
      const series = new Map((await readAll()).map((view) => [view.id, view]));
      const checked = seriesModels.filter((m) => m.id !== null && series.has(m.id));
      return {
        owners: checked.flatMap((m) => remoteOwnersOf(m.plan, series.get(m.id!)!)),
        violations: checked.flatMap((m) => checkSeries(m, series.get(m.id!)!, remote)),
        sends: [...series.values()].flatMap((view) => view.sends),
      };
    },
  };
}
