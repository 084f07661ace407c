import { setTimeout as delay } from 'node:timers/promises';
import type { SimMessage } from '../../../src/ofauth/simulator/app.ts';
import { toOfauthDate } from '../../../src/sync/remote-body.ts';
import { expectStatus, type Api, type CampaignView } from './api.ts';
import type { CampaignModel } from './workload.ts';

interface SyncStatus {
  backlog: Array<{ connectionId: string; due: number }>;
  inFlight: number;
  pausedConnections: unknown[];
}

/** Every campaign the API knows, through the keyset cursor. */
export async function listAllCampaigns(api: Api): Promise<CampaignView[]> {
  const all: CampaignView[] = [];
  let cursor: string | null = null;
  do {
    const response = await api.read(`/v1/campaigns?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expectStatus(response, 200, 'GET /v1/campaigns');
    const page = response.body as { items: CampaignView[]; nextCursor: string | null };
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

/** A series' view has its recurrence (and no one-shot sync view); a one-shot's has none. */
const isSeriesView = (c: CampaignView) => c.recurrence !== undefined && c.recurrence !== null;

/** Settled: live ones synced at their latest revision, canceled ones with no remote work left. */
export function isSettled(c: CampaignView): boolean {
  if (c.status === 'canceled') return c.sync.state === 'deleted' || c.sync.state === 'idle';
  return c.status === 'queued' && c.sync.state === 'synced' && c.sync.remoteId !== null && c.sync.syncedRevision === c.sync.revision;
}

const describeCampaign = (c: CampaignView) =>
  `${c.name} ${c.id} status=${c.status} sync=${JSON.stringify({ ...c.sync })}`;

/**
 * Polls until the sync loop has nothing left: no backlog, nothing leased, every campaign
 * settled. On the deadline, throws naming every unsettled campaign.
 */
export async function waitForConvergence(
  api: Api,
  timeoutMs: number,
  /** Why each series is not settled yet (empty: all are); a series has no one-shot sync view. */
  unsettledSeries: () => Promise<string[]> = async () => [],
): Promise<{ campaigns: CampaignView[]; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const response = await api.read('/v1/sync/status');
    expectStatus(response, 200, 'GET /v1/sync/status');
    const status = response.body as SyncStatus;
    const campaigns = await listAllCampaigns(api);
    const unsettled = [...campaigns.filter((c) => !isSeriesView(c) && !isSettled(c)).map(describeCampaign), ...(await unsettledSeries())];
    const isIdle = status.backlog.length === 0 && status.inFlight === 0;
    if (isIdle && unsettled.length === 0) return { campaigns, waitedMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `not converged after ${timeoutMs} ms: backlog=${JSON.stringify(status.backlog)} inFlight=${status.inFlight} ` +
          `paused=${JSON.stringify(status.pausedConnections)}; ${unsettled.length} unsettled campaign(s):\n  ${unsettled.join('\n  ')}`,
      );
    }
    await delay(250);
  }
}

export interface EventFigures {
  adopted: number;
  createAbsent: number;
  remoteCreated: number;
  /** Creates answered 5xx / dropped / timed out: the sync loop had to search. */
  ambiguousCreates: number;
  /** Create intents a SIGKILL left open (no answer recorded), resolved by the next process. */
  interruptedCreates: number;
  syncErrors: number;
  /** sync_error counts by "operation/kind". */
  syncErrorsBy: Record<string, number>;
}

interface EventItem {
  type: string;
  data: Record<string, unknown> | null;
}

/** Reads every campaign's audit log and counts what the sync loop went through. */
export async function collectEventFigures(api: Api, ids: string[]): Promise<EventFigures> {
  const figures: EventFigures = { adopted: 0, createAbsent: 0, remoteCreated: 0, ambiguousCreates: 0, interruptedCreates: 0, syncErrors: 0, syncErrorsBy: {} };
  for (const id of ids) {
    const events: EventItem[] = [];
    let cursor: string | null = null;
    do {
      const response = await api.read(`/v1/campaigns/${id}/events?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expectStatus(response, 200, `GET events of ${id}`);
      const page = response.body as { items: EventItem[]; nextCursor: string | null };
      events.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);

    // 'inflight' after a create's sync_started, until its answer (or a search) is recorded.
    let openCreate: 'inflight' | 'ambiguous' | null = null;
    for (const event of events) {
      const operation = event.data?.operation;
      if (event.type === 'sync_started' && operation === 'create') {
        if (openCreate === 'inflight') figures.interruptedCreates++;
        openCreate = 'inflight';
      } else if (event.type === 'remote_created') {
        figures.remoteCreated++;
        openCreate = null;
      } else if (event.type === 'sync_error') {
        figures.syncErrors++;
        const key = `${String(operation)}/${String(event.data?.kind)}`;
        figures.syncErrorsBy[key] = (figures.syncErrorsBy[key] ?? 0) + 1;
        if (operation === 'create') {
          const isAmbiguous = event.data?.kind === 'ambiguous' || event.data?.kind === 'unexpected';
          if (isAmbiguous) figures.ambiguousCreates++;
          openCreate = isAmbiguous ? 'ambiguous' : null;
        }
      } else if (event.type === 'adopted' || event.type === 'create_absent') {
        if (event.type === 'adopted') figures.adopted++;
        else figures.createAbsent++;
        if (openCreate === 'inflight') figures.interruptedCreates++;
        openCreate = null;
      }
    }
  }
  return figures;
}

/** A remote copy still counts: scheduled or already going out (not canceled, not unsent). */
export const isLiveRemote = (m: SimMessage) => m.state !== 'canceled' && m.state !== 'unsent';

export interface Verdict {
  violations: string[];
  /** Live remote messages no campaign owns: a double send in the making. */
  duplicates: number;
  /** Remote messages of any state that no campaign owns. */
  unclaimed: number;
  liveCampaigns: number;
  canceledCampaigns: number;
}

/**
 * The crash test's invariants, as a list of violations (empty when all hold): no campaign lost
 * or doubled, each live campaign has exactly one live remote message with its last revision's
 * text, each canceled one has none, and every remote message belongs to exactly one campaign.
 */
export function checkInvariants(
  models: CampaignModel[],
  campaigns: CampaignView[],
  remote: SimMessage[],
  /** Remote ids held by series sends (see series.ts), which own messages as one-shots do. */
  seriesOwners: Array<{ connectionId: string; remoteId: string; owner: string }> = [],
): Verdict {
  const violations: string[] = [];
  const byId = new Map(campaigns.map((c) => [c.id, c]));
  const remoteKey = (connectionId: string, id: string | number) => `${connectionId}/${id}`;
  const remoteById = new Map(remote.map((m) => [remoteKey(m.connectionId, m.id), m]));
  const owners = new Map<string, string[]>();
  const own = (key: string, owner: string) => owners.set(key, [...(owners.get(key) ?? []), owner]);
  for (const c of campaigns) if (!isSeriesView(c) && c.sync.remoteId !== null) own(remoteKey(c.connectionId, c.sync.remoteId), c.id);
  for (const o of seriesOwners) own(remoteKey(o.connectionId, o.remoteId), o.owner);

  const knownIds = new Set(models.map((m) => m.id));
  for (const c of campaigns) if (!knownIds.has(c.id)) violations.push(`campaign ${c.id} (${c.name}) was never accepted by a create: a replayed create made a second one`);

  let live = 0;
  let canceled = 0;
  // Series are checked by checkSeries (series.ts); here only their campaigns' existence and remote ids count.
  for (const model of models.filter((m) => m.plan.recurrence === null)) {
    const { plan } = model;
    const label = `c${plan.index}`;
    if (model.id === null) {
      violations.push(`${label}: its create was never accepted`);
      continue;
    }
    const c = byId.get(model.id);
    if (!c) {
      violations.push(`${label}: campaign ${model.id}, accepted with 201, is missing`);
      continue;
    }
    // What the API confirmed last: the model, not the plan, so an edit lost without an error shows.
    const text = plan.texts[model.confirmedRevision - 1];
    if (c.message.text !== text) violations.push(`${label}: API text ${JSON.stringify(c.message.text)}, expected ${JSON.stringify(text)}`);
    if (c.sync.revision !== model.confirmedRevision) violations.push(`${label}: revision ${c.sync.revision}, expected ${model.confirmedRevision} (one per applied edit)`);
    const ownRemote = c.sync.remoteId === null ? undefined : remoteById.get(remoteKey(c.connectionId, c.sync.remoteId));
    const ownTexts = new Set(plan.texts);
    const liveWithOwnText = remote.filter((m) => isLiveRemote(m) && m.connectionId === c.connectionId && ownTexts.has(m.body.text ?? ''));

    if (model.isCanceled) {
      canceled++;
      if (c.status !== 'canceled') violations.push(`${label}: status ${c.status}, expected canceled`);
      if (ownRemote && isLiveRemote(ownRemote)) violations.push(`${label}: canceled, but its remote message ${ownRemote.id} is ${ownRemote.state}`);
      for (const m of liveWithOwnText) if (m !== ownRemote) violations.push(`${label}: canceled, but remote message ${m.id} with its text is ${m.state}`);
      continue;
    }

    live++;
    if (c.status === 'canceled') violations.push(`${label}: canceled, but it never was`);
    if (!ownRemote) {
      violations.push(`${label}: no remote message (remoteId ${c.sync.remoteId})`);
      continue;
    }
    if (!isLiveRemote(ownRemote)) violations.push(`${label}: its remote message ${ownRemote.id} is ${ownRemote.state}`);
    if (ownRemote.body.text !== text) violations.push(`${label}: remote ${ownRemote.id} text ${JSON.stringify(ownRemote.body.text)}, expected ${JSON.stringify(text)}`);
    if (ownRemote.body.scheduledDate !== toOfauthDate(Date.parse(plan.scheduledAt))) {
      violations.push(`${label}: remote ${ownRemote.id} scheduledDate ${ownRemote.body.scheduledDate}, expected ${plan.scheduledAt}`);
    }
    if (liveWithOwnText.length !== 1) violations.push(`${label}: ${liveWithOwnText.length} live remote messages carry its texts (${liveWithOwnText.map((m) => m.id).join(', ')})`);
  }

  let duplicates = 0;
  let unclaimed = 0;
  for (const m of remote) {
    const claimedBy = owners.get(remoteKey(m.connectionId, m.id)) ?? [];
    if (claimedBy.length === 1) continue;
    if (claimedBy.length === 0) {
      unclaimed++;
      if (isLiveRemote(m)) duplicates++;
    }
    violations.push(
      `remote message ${m.id} (${m.state}, text ${JSON.stringify(m.body.text)}) is claimed by ${claimedBy.length} campaigns or sends${claimedBy.length > 0 ? `: ${claimedBy.join(', ')}` : ''}`,
    );
  }
  return { violations, duplicates, unclaimed, liveCampaigns: live, canceledCampaigns: canceled };
}
