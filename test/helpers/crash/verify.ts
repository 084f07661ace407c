import { setTimeout as delay } from 'node:timers/promises';
import { nextOccurrence, occurrencesBetween } from '../../../src/campaigns/recurrence.ts';
import type { SimMessage } from '../../../src/ofauth/simulator/app.ts';
import { toOfauthDate } from '../../../src/sync/remote-body.ts';
import { expectStatus, type Api, type CampaignView, type SendView } from './api.ts';
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

/** Every send of a campaign, through the keyset cursor. */
export async function listSends(api: Api, campaignId: string): Promise<SendView[]> {
  const all: SendView[] = [];
  let cursor: string | null = null;
  do {
    const response = await api.read(`/v1/campaigns/${campaignId}/sends?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expectStatus(response, 200, `GET sends of ${campaignId}`);
    const page = response.body as { items: SendView[]; nextCursor: string | null };
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

export const isSeries = (c: CampaignView) => c.sync === null;

/** One-shot settled: live ones synced at their latest revision, canceled ones with no remote work left. */
export function isSettled(c: CampaignView): boolean {
  if (c.sync === null) return true; // a series: its sends say (isSendSettled)
  if (c.status === 'canceled') return c.sync.state === 'deleted' || c.sync.state === 'idle';
  return c.status === 'queued' && c.sync.state === 'synced' && c.sync.remoteId !== null && c.sync.syncedRevision === c.sync.revision;
}

/**
 * A series send the loop owes nothing: made in OFAuth (or failed, or canceled with its copy
 * deleted), no create open, no retry or update due. "error" is final until the next change
 * (OFAuth refused an update or a delete because the message was already going out).
 */
export function isSendSettled(s: SendView): boolean {
  if (s.status === 'pending') return false;
  return !['creating', 'pending', 'retrying', 'paused'].includes(s.sync.state);
}

const describeCampaign = (c: CampaignView) =>
  `${c.name} ${c.id} status=${c.status} sync=${JSON.stringify(c.sync)}`;
const describeSend = (s: SendView) => `${s.campaignId}/${s.id} occurrence=${s.occurrenceAt} status=${s.status} reason=${s.reason} sync=${JSON.stringify(s.sync)}`;

export interface Converged {
  campaigns: CampaignView[];
  /** Sends of the series, by campaign id. */
  seriesSends: Map<string, SendView[]>;
  waitedMs: number;
}

async function readSeriesSends(api: Api, campaigns: CampaignView[]): Promise<Map<string, SendView[]>> {
  const sends = new Map<string, SendView[]>();
  for (const c of campaigns.filter(isSeries)) sends.set(c.id, await listSends(api, c.id));
  return sends;
}

/**
 * Polls until the sync loop has nothing left: no backlog, nothing leased, every one-shot
 * campaign settled and every series send settled. On the deadline, throws naming every
 * unsettled campaign and send.
 */
export async function waitForConvergence(api: Api, timeoutMs: number): Promise<Converged> {
  const started = Date.now();
  for (;;) {
    const response = await api.read('/v1/sync/status');
    expectStatus(response, 200, 'GET /v1/sync/status');
    const status = response.body as SyncStatus;
    const campaigns = await listAllCampaigns(api);
    const unsettled = campaigns.filter((c) => !isSettled(c));
    const seriesSends = await readSeriesSends(api, campaigns);
    const unsettledSends = [...seriesSends.values()].flat().filter((s) => !isSendSettled(s));
    const isIdle = status.backlog.length === 0 && status.inFlight === 0;
    if (isIdle && unsettled.length === 0 && unsettledSends.length === 0) return { campaigns, seriesSends, waitedMs: Date.now() - started };
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `not converged after ${timeoutMs} ms: backlog=${JSON.stringify(status.backlog)} inFlight=${status.inFlight} ` +
          `paused=${JSON.stringify(status.pausedConnections)}; ${unsettled.length} unsettled campaign(s):\n  ${unsettled.map(describeCampaign).join('\n  ')}\n` +
          `${unsettledSends.length} unsettled series send(s):\n  ${unsettledSends.map(describeSend).join('\n  ')}`,
      );
    }
    await delay(250);
  }
}

const sendsKey = (sends: Map<string, SendView[]>) =>
  JSON.stringify([...sends.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([id, list]) => [id, list.map((s) => [s.id, s.status, s.sync.state, s.sync.remoteId, s.sync.syncedRevision])]));

export interface Snapshot extends Converged {
  /** Every campaign's sends (one-shots included), read after `remote`. */
  sends: Map<string, SendView[]>;
  remote: SimMessage[];
  /** When `remote` was taken. */
  takenAt: number;
}

/**
 * A converged state and the simulator's messages that belong together: series keep making
 * sends while the test looks (an occurrence every minute or two, RECURRENCE_LEAD ahead), so the
 * sends are read before and after the simulator's list, and the pair is kept only when nothing
 * changed in between.
 */
export async function takeConsistentSnapshot(api: Api, messages: () => SimMessage[], timeoutMs: number): Promise<Snapshot> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const converged = await waitForConvergence(api, Math.max(1_000, timeoutMs - (Date.now() - started)));
    const takenAt = Date.now();
    const remote = messages();
    const sends = new Map<string, SendView[]>();
    for (const c of converged.campaigns) sends.set(c.id, await listSends(api, c.id));
    const seriesAfter = new Map([...sends].filter(([id]) => converged.seriesSends.has(id)));
    if (sendsKey(seriesAfter) === sendsKey(converged.seriesSends)) return { ...converged, waitedMs: Date.now() - started, sends, remote, takenAt };
    if (attempt >= 20) throw new Error('series sends kept changing while the final state was read');
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
  sendId: string | null;
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

    // Per send (a series has several): 'inflight' after a create's sync_started, until its
    // answer (or a search) is recorded.
    const openCreates = new Map<string | null, 'inflight' | 'ambiguous' | null>();
    for (const event of events) {
      const operation = event.data?.operation;
      let openCreate = openCreates.get(event.sendId) ?? null;
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
      openCreates.set(event.sendId, openCreate);
    }
  }
  return figures;
}

/** A remote copy still counts: scheduled or already going out (not canceled, not unsent). */
export const isLiveRemote = (m: SimMessage) => m.state !== 'canceled' && m.state !== 'unsent';

export interface SeriesFigures {
  series: number;
  /** Occurrence sends of every status. */
  occurrenceSends: number;
  /** Queued, sending or sent: each with exactly one live remote message. */
  liveSends: number;
  /** Live sends whose remote message has started or finished sending. */
  wentOut: number;
  /** Canceled sends, by reason. */
  canceledByPause: number;
  canceledByCancel: number;
  /** Failed sends with reason missed_window. */
  missed: number;
  /** Canceled sends whose remote copy was already going out (the delete was refused). */
  cancelTooLate: number;
  /** Live sends OFAuth got without a scheduledDate (due within seconds when created). */
  sentNow: number;
  /** Series status at the end. */
  paused: number;
  canceled: number;
  completed: number;
  /** Pauses and resumes the API confirmed. */
  pauses: number;
  resumes: number;
  /** Script steps refused with 409 because the series had completed. */
  skippedCompleted: number;
}

export interface Verdict {
  violations: string[];
  /** Live remote messages no send owns: a double send in the making. */
  duplicates: number;
  /** Remote messages of any state that no send owns. */
  unclaimed: number;
  liveCampaigns: number;
  canceledCampaigns: number;
  series: SeriesFigures;
}

const LIVE_SEND = new Set(['queued', 'sending', 'sent']);
const remoteKey = (connectionId: string, id: string | number) => `${connectionId}/${id}`;

/**
 * The crash test's invariants, as a list of violations (empty when all hold): no campaign lost
 * or doubled, each live one-shot has exactly one live remote message with its last revision's
 * text, each canceled one has none; each series has exactly one live remote message per live
 * occurrence send and none for canceled or paused ones; and every remote message belongs to
 * exactly one send.
 */
export function checkInvariants(models: CampaignModel[], snapshot: Pick<Snapshot, 'campaigns' | 'sends' | 'remote' | 'takenAt'>, options: { leadMs: number }): Verdict {
  const { campaigns, sends, remote } = snapshot;
  const violations: string[] = [];
  const byId = new Map(campaigns.map((c) => [c.id, c]));
  const remoteById = new Map(remote.map((m) => [remoteKey(m.connectionId, m.id), m]));
  const owners = new Map<string, SendView[]>();
  for (const s of [...sends.values()].flat()) {
    if (s.sync.remoteId === null) continue;
    const key = remoteKey(s.connectionId, s.sync.remoteId);
    owners.set(key, [...(owners.get(key) ?? []), s]);
  }

  const knownIds = new Set(models.map((m) => m.id));
  for (const c of campaigns) if (!knownIds.has(c.id)) violations.push(`campaign ${c.id} (${c.name}) was never accepted by a create: a replayed create made a second one`);

  let live = 0;
  let canceled = 0;
  const series: SeriesFigures = {
    series: 0,
    occurrenceSends: 0,
    liveSends: 0,
    wentOut: 0,
    canceledByPause: 0,
    canceledByCancel: 0,
    missed: 0,
    cancelTooLate: 0,
    sentNow: 0,
    paused: 0,
    canceled: 0,
    completed: 0,
    pauses: 0,
    resumes: 0,
    skippedCompleted: 0,
  };
  for (const model of models) {
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
    if (plan.series !== null) {
      checkSeries(model, c, sends.get(c.id) ?? [], { remoteById, remote, takenAt: snapshot.takenAt, leadMs: options.leadMs, violations, figures: series });
      continue;
    }
    const ownSends = sends.get(c.id) ?? [];
    if (c.sync === null) {
      violations.push(`${label}: a one-shot campaign shows sync null`);
      continue;
    }
    if (ownSends.length !== 1) violations.push(`${label}: ${ownSends.length} sends, expected 1`);
    else if (ownSends[0]!.sync.remoteId !== c.sync.remoteId) violations.push(`${label}: its send's remote id ${ownSends[0]!.sync.remoteId} differs from the campaign's ${c.sync.remoteId}`);
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
    if (ownRemote.body.scheduledDate !== toOfauthDate(Date.parse(plan.scheduledAt!))) {
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
      `remote message ${m.id} (${m.state}, scheduled ${m.scheduledAt}, text ${JSON.stringify(m.body.text)}) is claimed by ${claimedBy.length} sends${claimedBy.length > 0 ? `: ${claimedBy.map((s) => `${s.campaignId}/${s.id}`).join(', ')}` : ''}`,
    );
  }
  return { violations, duplicates, unclaimed, liveCampaigns: live, canceledCampaigns: canceled, series };
}

interface SeriesCheck {
  remoteById: Map<string, SimMessage>;
  remote: SimMessage[];
  takenAt: number;
  leadMs: number;
  violations: string[];
  figures: SeriesFigures;
}

/** A recurring campaign against its sends and OFAuth: one live remote message per live occurrence, none for the rest. */
function checkSeries(model: CampaignModel, c: CampaignView, sends: SendView[], check: SeriesCheck): void {
  const { plan } = model;
  const series = plan.series!;
  const label = `c${plan.index} (series ${series.cron} ${series.timezone} ×${series.maxOccurrences})`;
  const { violations, figures } = check;
  const recurrence = { cron: series.cron, timezone: series.timezone, endsAt: null };
  figures.series++;
  figures.pauses += model.pauses ?? 0;
  figures.resumes += model.resumes ?? 0;
  figures.skippedCompleted += model.skippedCompleted ?? 0;

  const expectedStatus = model.isCanceled ? ['canceled'] : model.isPaused ? ['paused'] : ['scheduled', 'completed'];
  if (!expectedStatus.includes(c.status)) violations.push(`${label}: status ${c.status}, expected ${expectedStatus.join(' or ')}`);
  if (c.status === 'paused') figures.paused++;
  if (c.status === 'canceled') figures.canceled++;
  if (c.status === 'completed') figures.completed++;
  if (c.sync !== null) violations.push(`${label}: a series shows a campaign-level sync ${JSON.stringify(c.sync)}`);

  const createdAt = Date.parse(c.createdAt);
  const liveByOccurrence = new Map<string, SendView[]>();
  const counted = new Set<string>();
  for (const s of sends) {
    const what = `${label} send ${s.id} (occurrence ${s.occurrenceAt}, ${s.status}${s.reason ? ` ${s.reason}` : ''})`;
    if (s.kind !== 'occurrence' || s.occurrenceAt === null) {
      violations.push(`${what}: kind ${s.kind}, expected an occurrence`);
      continue;
    }
    figures.occurrenceSends++;
    const at = Date.parse(s.occurrenceAt);
    if (nextOccurrence(recurrence, at - 1) !== at) violations.push(`${what}: not an occurrence of ${series.cron} in ${series.timezone}`);
    if (at < createdAt - 1_000) violations.push(`${what}: before the series was created (${new Date(createdAt).toISOString()})`);
    if (s.status !== 'canceled') counted.add(s.occurrenceAt);
    const own = s.sync.remoteId === null ? undefined : check.remoteById.get(remoteKey(s.connectionId, s.sync.remoteId));
    if (s.sync.remoteId !== null && !own) violations.push(`${what}: its remote message ${s.sync.remoteId} does not exist in OFAuth`);

    if (LIVE_SEND.has(s.status)) {
      figures.liveSends++;
      liveByOccurrence.set(s.occurrenceAt, [...(liveByOccurrence.get(s.occurrenceAt) ?? []), s]);
      if (!own) {
        if (s.sync.remoteId === null) violations.push(`${what}: live, but no remote message`);
        continue;
      }
      if (!isLiveRemote(own)) violations.push(`${what}: its remote message ${own.id} is ${own.state}`);
      if (own.state === 'sending' || own.state === 'sent') figures.wentOut++;
      // The text OFAuth has is the revision Fanout says it synced, whatever stage the send is at.
      const syncedText = plan.texts[s.sync.syncedRevision - 1];
      if (own.body.text !== syncedText) violations.push(`${what}: remote ${own.id} text ${JSON.stringify(own.body.text)}, expected r${s.sync.syncedRevision} ${JSON.stringify(syncedText)}`);
      // Still waiting in OFAuth's queue and further out than 60 s from the last edit: the edit must have reached it.
      const isEditReachable = s.status === 'queued' && own.state === 'scheduled' && at > (model.confirmedAt ?? 0) + 61_000;
      if (isEditReachable && (s.sync.syncedRevision !== model.confirmedRevision || s.sync.revision !== model.confirmedRevision)) {
        violations.push(`${what}: queued more than 60 s after the last edit, but at revision ${s.sync.revision} (synced ${s.sync.syncedRevision}), expected ${model.confirmedRevision}`);
      }
      if (own.hasScheduledDate) {
        if (own.body.scheduledDate !== toOfauthDate(at)) violations.push(`${what}: remote ${own.id} scheduledDate ${own.body.scheduledDate}, expected ${toOfauthDate(at)}`);
      } else figures.sentNow++;
      continue;
    }
    if (s.status === 'canceled') {
      if (s.reason === 'paused') figures.canceledByPause++;
      else if (s.reason === 'campaign_canceled') figures.canceledByCancel++;
      else if (s.reason !== 'schedule_changed') violations.push(`${what}: canceled with reason ${s.reason}`);
      if (s.reason === 'paused' && (model.pauses ?? 0) === 0) violations.push(`${what}: canceled by a pause, but the series was never paused`);
      if (s.reason === 'campaign_canceled' && !model.isCanceled) violations.push(`${what}: canceled with the campaign, but it never was`);
      if (!own) continue;
      if (own.state === 'canceled') continue;
      if ((own.state === 'sending' || own.state === 'sent') && s.sync.state === 'error') {
        // The pause or cancel came after OFAuth had started sending it: the delete was refused.
        figures.cancelTooLate++;
        continue;
      }
      if (own.state === 'unsent') violations.push(`${what}: its remote message ${own.id} had gone out (scheduled ${own.scheduledAt}) and was recalled (unsent at ${own.unsentAt})`);
      else violations.push(`${what}: its remote message ${own.id} is ${own.state} (sync ${s.sync.state})`);
      continue;
    }
    if (s.status === 'failed') {
      if (s.reason === 'missed_window') figures.missed++;
      else violations.push(`${what}: failed (${s.sync.lastError})`);
      if (own && isLiveRemote(own)) violations.push(`${what}: failed, but its remote message ${own.id} is ${own.state}`);
      continue;
    }
    violations.push(`${what}: not settled (sync ${JSON.stringify(s.sync)})`);
  }

  for (const [at, list] of liveByOccurrence) {
    if (list.length > 1) violations.push(`${label}: ${list.length} live sends for occurrence ${at} (${list.map((s) => s.id).join(', ')})`);
  }
  if (counted.size > series.maxOccurrences) violations.push(`${label}: ${counted.size} occurrences made, at most ${series.maxOccurrences} allowed`);
  if (c.status === 'paused' || c.status === 'canceled') {
    const open = sends.filter((s) => s.status === 'pending' || s.status === 'queued');
    if (open.length > 0) violations.push(`${label}: ${c.status}, but ${open.map((s) => `${s.id} (${s.occurrenceAt}) is ${s.status}`).join(', ')}`);
  }
  // Never paused nor canceled: every occurrence within the lead exists, once, as a live send.
  if ((model.pauses ?? 0) === 0 && !model.isCanceled) {
    const due = occurrencesBetween(recurrence, createdAt - 1, check.takenAt + check.leadMs - 5_000, series.maxOccurrences);
    for (const at of due) {
      const iso = new Date(at).toISOString();
      if (!liveByOccurrence.has(iso)) violations.push(`${label}: occurrence ${iso} is due within the lead but has no live send (${sends.filter((s) => s.occurrenceAt === iso).map((s) => `${s.id} ${s.status} ${s.reason}`).join(', ') || 'none'})`);
    }
  }
}
