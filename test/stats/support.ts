import { ManualClock } from '../../src/clock.ts';
import { newCampaignId, newSendId } from '../../src/ids.ts';
import { createOfauthClient, type OfauthClient, type OfauthClientOptions } from '../../src/ofauth/client.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import type { StoredMessage } from '../../src/ofauth/simulator/store.ts';
import { sendDefaults, type Send, type SendChanges } from '../../src/sends/model.ts';
import { createStatsPoller, type StatsPoller, type StatsPollerSettings } from '../../src/stats/poller.ts';
import { createReconciler, type Reconciler } from '../../src/sync/reconciler.ts';
import { buildTestApp, T0, type TestApp } from '../helpers/app.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { defaultSyncSettings } from '../helpers/sync.ts';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const STATS_ROUTE = 'GET /v2/access/messages/queue/stats';

/** The harness client's bucket (1000, 1000/s): large enough that only the poller's own rules limit it. */
export const defaultPollerSettings: StatsPollerSettings = {
  budget: 0.3,
  trackDays: 7,
  cycleMs: MINUTE,
  rateCapacity: 1_000,
  refillPerSecond: 1_000,
};

export interface StatsHarness extends TestApp {
  sim: StartedSimulator;
  client: OfauthClient;
  reconciler: Reconciler;
  poller: StatsPoller;
  /** Another poller on the same database (own budget and resume state), e.g. with a smaller budget or a wrapped client. */
  makePoller(overrides?: { settings?: Partial<StatsPollerSettings>; client?: OfauthClient }): StatsPoller;
  /** A client on the same simulator with its own bucket (closed with the harness). */
  makeClient(options?: Partial<OfauthClientOptions>): OfauthClient;
  makeReconciler(client: OfauthClient): Reconciler;
}

/**
 * The whole app (stats routes included) on a client pointed at the OFAuth simulator over
 * loopback HTTP, with a reconciler and a stats poller, sharing one manual clock (the
 * simulator's message states follow it).
 */
export async function buildStatsHarness(options: { sim?: SimulatorOptions; settings?: Partial<StatsPollerSettings> } = {}): Promise<StatsHarness> {
  const clock = new ManualClock(T0);
  const sim = await startSimulator({ clock, rateLimit: false, ...options.sim });
  const clientOptions = (overrides: Partial<OfauthClientOptions>) => ({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    timeoutMs: 5_000,
    rateLimit: { capacity: 1_000, refillPerSecond: 1_000 },
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 },
    ...overrides,
  });
  // The app's client, closed by the app; the harness closes the ones it makes.
  const client = createOfauthClient(clientOptions({}));
  const extraClients: OfauthClient[] = [];
  const makeClient = (overrides: Partial<OfauthClientOptions> = {}) => {
    const made = createOfauthClient(clientOptions(overrides));
    extraClients.push(made);
    return made;
  };
  const settings = { ...defaultPollerSettings, ...options.settings };
  const app = await buildTestApp({ clock, client, syncSettings: defaultSyncSettings, statsSettings: settings, owner: 'test-owner', random: () => 0.5 });
  const makeReconciler = (withClient: OfauthClient) =>
    createReconciler({ store: app.store, client: withClient, clock, settings: defaultSyncSettings, owner: 'test-owner', random: () => 0.5 });
  const makePoller = (overrides: { settings?: Partial<StatsPollerSettings>; client?: OfauthClient } = {}) =>
    createStatsPoller({ store: app.store, client: overrides.client ?? client, clock, settings: { ...settings, ...overrides.settings } });

  return {
    ...app,
    sim,
    client,
    reconciler: makeReconciler(client),
    poller: makePoller(),
    makePoller,
    makeClient,
    makeReconciler,
    async close() {
      await app.close();
      await Promise.all(extraClients.map((c) => c.close()));
      await sim.close();
    },
  };
}

/** Audience on the simulator's default connection: lists 1 (1200) + 3 (5) − 4 (25) = 1180 fans. */
export async function createSimCampaign(h: StatsHarness, overrides: Record<string, unknown> = {}): Promise<Record<string, any>> {
  return createCampaign(h.app, h.admin, campaignBody(h.clock.now(), { audience: { userLists: [1, 3], excludeUserLists: [4] }, ...overrides }));
}

export async function getJson(h: StatsHarness, url: string, headers: Record<string, string> = h.admin): Promise<Record<string, any>> {
  const res = await h.app.inject({ method: 'GET', url, headers });
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const getCampaign = (h: StatsHarness, id: string) => getJson(h, `/v1/campaigns/${id}`);
export const getStats = (h: StatsHarness, id: string, query = '') => getJson(h, `/v1/campaigns/${id}/stats${query}`);

export async function eventTypes(h: StatsHarness, id: string): Promise<string[]> {
  return (await getJson(h, `/v1/campaigns/${id}/events?limit=500`)).items.map((e: { type: string }) => e.type);
}

export async function eventsOf(h: StatsHarness, id: string, type: string): Promise<Array<Record<string, any>>> {
  return (await getJson(h, `/v1/campaigns/${id}/events?limit=500`)).items.filter((e: { type: string }) => e.type === type);
}

/** Stats pages the simulator answered (any status), from its request counts. */
export function statsRequests(h: StatsHarness): number {
  return Object.entries(h.sim.requestCounts())
    .filter(([key]) => key.startsWith(STATS_ROUTE))
    .reduce((sum, [, n]) => sum + n, 0);
}

/**
 * A mass message put straight into the simulator's store, as if sent from OFAuth's own UI:
 * created at `createdAt` and sent at once (or at `scheduledAt`).
 */
export function seedRemote(
  h: Pick<StatsHarness, 'sim'>,
  input: { createdAt: number; scheduledAt?: number; price?: number; audience?: number; connectionId?: string; text?: string },
): StoredMessage {
  const id = h.sim.store.nextMessageId();
  const message: StoredMessage = {
    id,
    connectionId: input.connectionId ?? 'conn_sandbox',
    createdVia: 'queue',
    body: { text: input.text ?? `Message ${id}`, price: input.price ?? 0, userLists: [1], mediaItems: input.price ? [4211] : [] },
    createdAt: input.createdAt,
    updatedAt: input.createdAt,
    scheduledAt: input.scheduledAt ?? input.createdAt,
    hasScheduledDate: input.scheduledAt !== undefined,
    audience: input.audience ?? 1_000,
    canceledAt: null,
    unsentAt: null,
    updates: 0,
  };
  h.sim.store.messages.set(id, message);
  return message;
}

/** A campaign seeded straight into the database, with its one send. */
export interface SeededCampaign {
  /** The campaign's id (what the API takes). */
  id: string;
  sendId: string;
  remoteId: string;
}

/**
 * A one-shot campaign and its send owning `remote`, inserted directly (as if created and synced
 * long ago): queued, or sent at `sentAt`. Only for scenarios too large to build through the API.
 */
export async function seedCampaignFor(h: StatsHarness, remote: StoredMessage, state: { status: 'queued' | 'sent'; sentAt?: number | null; price?: number }): Promise<SeededCampaign> {
  const id = newCampaignId(remote.createdAt);
  await h.rows.insertCampaign({
      id,
      name: `Campaign for ${remote.id}`,
      connectionId: remote.connectionId,
      message: {
        text: remote.body.text ?? '',
        mediaItems: remote.body.mediaItems ?? [],
        price: state.price ?? remote.body.price ?? 0,
        previewMediaCount: 0,
        isLockedText: false,
        isMarkdown: true,
        userTags: [],
        releaseForms: { users: [], partners: [], guests: [] },
      },
      audience: { userIds: [], userLists: [1], excludeUserLists: [], subscribedAfterDate: null },
      scheduledAt: remote.scheduledAt,
      recurrence: null,
      status: state.status,
      createdBy: 'test',
      createdAt: remote.createdAt,
      updatedAt: remote.createdAt,
    });
  const send = sendDefaults({
    id: newSendId(remote.createdAt),
    campaignId: id,
    connectionId: remote.connectionId,
    kind: 'scheduled',
    occurrenceAt: null,
    dueAt: remote.scheduledAt,
    revision: 1,
    status: state.status,
    createdAt: remote.createdAt,
    updatedAt: remote.createdAt,
  });
  await h.rows.insertSend({ ...send, syncState: 'synced', remoteId: String(remote.id), syncedRevision: 1, lastSyncedAt: remote.createdAt, sentAt: state.sentAt ?? null });
  return { id, sendId: send.id, remoteId: String(remote.id) };
}

/** A send as stored. */
export async function findSend(h: StatsHarness, sendId: string): Promise<Send> {
  const send = await h.store.campaigns.findSend(sendId);
  if (!send) throw new Error(`no send ${sendId}`);
  return send;
}

/** Overwrites a send's stats columns (no derived state among them), as a past poll would have left them. */
export async function setSendStats(h: StatsHarness, sendId: string, changes: Pick<SendChanges, 'sentCount' | 'viewedCount' | 'purchasedCount' | 'statsObservedAt'>): Promise<void> {
  await h.rows.updateSend(sendId, changes);
}

/** Position of each message in a stats list, newest first, as the simulator orders it. */
export function positionsIn(h: StatsHarness, type: 'scheduled' | 'unsent' | 'sent', connectionId = 'conn_sandbox'): Map<string, number> {
  const listed = h.sim
    .messages(connectionId)
    .filter((m) => m.statsType === type)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
  return new Map(listed.map((m, i) => [String(m.id), i]));
}

/** The least pages a poll could read to cover these remote ids in one list. */
export function pagesCovering(positions: Map<string, number>, remoteIds: string[]): number {
  const deepest = Math.max(...remoteIds.map((id) => positions.get(id) ?? -1));
  return deepest < 0 ? 0 : Math.ceil((deepest + 1) / 20);
}
