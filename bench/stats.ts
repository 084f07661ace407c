/**
 * bench:stats — how many stats pages one poll cycle reads, against the least that covers the
 * campaigns it tracks.
 *
 * One connection whose OFAuth history holds 2,000 mass messages sent from elsewhere over the last
 * 90 days, plus 50 one-shot campaigns inside their tracking window (40 sent over the last 5 days,
 * 5 sending, 5 queued for later), whose sends are all known to Fanout as queued with a remote id
 * (as the sync engine leaves them) and never polled. The simulator runs over loopback HTTP with
 * OFAuth's bucket (90, 1/s); the poller is the service's own (createFanout), with the default
 * settings (STATS_BUDGET, STATS_CRON, STATS_TRACK_DAYS) on a temp-file database. One clock, moved
 * by hand, drives both.
 *
 *   npm run bench:stats [-- --history 2000 --campaigns 50]
 *
 * Least = for each list, the pages down to the deepest tracked message in it (ceil(position / 20)),
 * summed. Aim: requests ≤ 1.2 × least. A missed aim prints AIM MISSED; only errors exit non-zero.
 */
import { parseArgs } from 'node:util';
import { ManualClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createOfauthClient, type OfauthClient } from '../src/ofauth/client.ts';
import type { StatsType } from '../src/ofauth/schemas.ts';
import type { StoredMessage } from '../src/ofauth/simulator/store.ts';
import { oneShotStatus } from '../src/sends/lifecycle.ts';
import { cronIntervalMs } from '../src/stats/budget.ts';
import type { StatsPollSummary } from '../src/stats/poller.ts';
import type { Audience, Message, SendStatus } from '../src/campaigns/model.ts';
import { seedCampaigns } from './lib/campaigns.ts';
import { openTempDb } from './lib/db.ts';
import { benchFanout } from './lib/fanout.ts';
import { printAim, printTable, thousands } from './lib/report.ts';
import { startBenchSimulator, tallyRequests } from './lib/simulator.ts';

const { values: args } = parseArgs({
  options: {
    history: { type: 'string', default: '2000' },
    campaigns: { type: 'string', default: '50' },
  },
});
const HISTORY = Number(args.history);
const CAMPAIGNS = Number(args.campaigns);
const CONNECTION = 'conn_bench';
const LIST_ID = 7001;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const PAGE = 20;
const AIM_RATIO = 1.2;
const LISTS: StatsType[] = ['scheduled', 'unsent', 'sent'];

async function main(): Promise<void> {
  const config = loadConfig({});
  const clock = new ManualClock(Date.UTC(2030, 0, 8, 12));
  const bucket = { capacity: config.ofauth.rateCapacity, refillPerSecond: config.ofauth.refillPerSecond };
  const sim = await startBenchSimulator({
    clock,
    rateLimit: bucket,
    sendDurationMs: MINUTE,
    connections: [{ id: CONNECTION, lists: [{ id: LIST_ID, name: 'Fans', size: 1_000 }] }],
  });
  const temp = openTempDb('stats');
  process.once('exit', () => temp.dispose());
  const { db } = temp;
  const now = clock.now();

  const seed = (createdAt: number, scheduledAt = createdAt, price = 0): StoredMessage => {
    const id = sim.store.nextMessageId();
    const message: StoredMessage = {
      id,
      connectionId: CONNECTION,
      createdVia: 'queue',
      body: { text: `Message ${id}`, price, mediaItems: price > 0 ? [4211] : [], userLists: [LIST_ID] },
      createdAt,
      updatedAt: createdAt,
      scheduledAt,
      hasScheduledDate: scheduledAt !== createdAt,
      audience: 1_000,
      canceledAt: null,
      unsentAt: null,
      updates: 0,
    };
    sim.store.messages.set(id, message);
    return message;
  };

  // History sent from elsewhere: evenly over 90 days, so the last week of it sits among the campaigns.
  for (let i = 0; i < HISTORY; i++) seed(now - 90 * DAY + Math.floor((i * 90 * DAY) / HISTORY));
  const sentCount = Math.max(0, CAMPAIGNS - 10);
  const remotes: StoredMessage[] = [];
  for (let i = 0; i < sentCount; i++) remotes.push(seed(now - 5 * DAY + Math.floor((i * (5 * DAY - HOUR)) / sentCount), undefined, 9.99));
  const sendingCount = Math.min(5, CAMPAIGNS - sentCount);
  for (let i = 0; i < sendingCount; i++) remotes.push(seed(now - 20_000 - i * 1_000, undefined, 5)); // sending
  while (remotes.length < CAMPAIGNS) remotes.push(seed(now - 10 * MINUTE, now + 6 * HOUR, 12)); // queued for later

  const audience: Audience = { userIds: [], userLists: [LIST_ID], excludeUserLists: [], subscribedAfterDate: null };
  const message = (price: number): Message => ({
    text: 'New set drops tonight. Unlock it before Sunday.',
    mediaItems: price > 0 ? [4211] : [],
    price,
    previewMediaCount: 0,
    isLockedText: false,
    isMarkdown: false,
    userTags: [],
    releaseForms: { users: [], partners: [], guests: [] },
  });
  // One-shot campaigns with their sends, as the sync engine leaves them after each create.
  seedCampaigns(
    db,
    remotes.length,
    (i) => {
      const remote = remotes[i]!;
      return {
        connectionId: CONNECTION,
        status: 'queued',
        scheduledAt: remote.hasScheduledDate ? remote.scheduledAt : null,
        revision: 1,
        syncedRevision: 1,
        syncState: 'synced',
        syncDueAt: null,
        remoteId: String(remote.id),
        lastSyncedAt: remote.createdAt,
        createdAt: remote.createdAt,
        messageJson: JSON.stringify(message(remote.body.price ?? 0)),
      };
    },
    () => JSON.stringify(audience),
    now,
  );

  // The least: per list, the pages down to its deepest tracked message, as the simulator orders it.
  const tracked = new Set(remotes.map((r) => String(r.id)));
  const least: Record<StatsType, number> = { scheduled: 0, unsent: 0, sent: 0 };
  for (const type of LISTS) {
    const listed = sim
      .messages(CONNECTION)
      .filter((m) => m.statsType === type)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
    const deepest = listed.reduce((max, m, i) => (tracked.has(String(m.id)) ? i : max), -1);
    least[type] = deepest < 0 ? 0 : Math.ceil((deepest + 1) / PAGE);
  }

  const base = createOfauthClient({ baseUrl: sim.url, apiKey: sim.apiKey, endpoints: config.ofauth.endpoints, timeoutMs: config.ofauth.timeoutMs, rateLimit: bucket, clock });
  const perList: Record<StatsType, number> = { scheduled: 0, unsent: 0, sent: 0 };
  const client: OfauthClient = {
    ...base,
    listMassMessages: (connectionId, q, opts) => {
      perList[q.type]++;
      return base.listMassMessages(connectionId, q, opts);
    },
  };
  // createFanout derives the poller's settings from config as the server does (budget, track
  // days, the cycle from STATS_CRON, the bucket shape); cycleMs is only printed and used to step.
  const cycleMs = await cronIntervalMs(config.stats.cron);
  const fanout = await benchFanout({ db, config, clock, client });
  const poller = fanout.statsPoller;

  const started = performance.now();
  const first = await poller.pollOnce();
  const firstMs = performance.now() - started;
  const firstByList = { ...perList };
  const requests = tallyRequests(sim.requestCounts());

  // Correctness first: a cheap poll that missed campaigns is an error, not a result.
  const statuses = db.$client.prepare('SELECT status, count(*) AS n FROM sends WHERE stats_observed_at IS NOT NULL GROUP BY status ORDER BY status').all() as Array<{ status: SendStatus; n: number }>;
  const observed = statuses.reduce((sum, s) => sum + s.n, 0);
  if (observed !== CAMPAIGNS) throw new Error(`expected ${CAMPAIGNS} sends observed after one cycle, got ${observed}: ${JSON.stringify(statuses)}`);
  // A one-shot campaign mirrors its send: the poller's writes must have carried the status over.
  const pairs = db.$client.prepare('SELECT c.status AS campaign, s.status AS send FROM campaigns c JOIN sends s ON s.campaign_id = c.id').all() as Array<{ campaign: string; send: SendStatus }>;
  const unmirrored = pairs.filter((p) => p.campaign !== oneShotStatus(p.send));
  if (unmirrored.length > 0) throw new Error(`${unmirrored.length} campaigns do not mirror their send, e.g. ${JSON.stringify(unmirrored[0])}`);

  // A minute later: the steady state, where pages that changed nothing end a list.
  clock.advance(cycleMs);
  for (const type of LISTS) perList[type] = 0;
  const second = await poller.pollOnce();

  const leastTotal = least.scheduled + least.unsent + least.sent;
  const ratio = first.requests / leastTotal;
  const byList = (counts: Record<StatsType, number>) => LISTS.map((t) => `${t} ${counts[t]}`).join(', ');
  const brief = (s: StatsPollSummary) => `seen ${s.seen}, changed ${s.changed}, status changes ${s.statusChanges}, snapshots ${s.snapshots}, untracked met ${s.untrackedSeen}, deferred ${s.deferred}`;
  const untracked = (await fanout.store.stats.connectionRows([CONNECTION]))[0]?.untrackedCount ?? 0;

  printTable('bench:stats — one poll cycle against the simulator (loopback HTTP, temp-file SQLite, default stats settings)', [
    ['remote history', `${thousands(HISTORY)} messages from elsewhere over 90 days + ${CAMPAIGNS} campaigns' messages`],
    ['tracked sends', `${CAMPAIGNS} (${sentCount} sent over the last 5 days, ${sendingCount} sending, ${CAMPAIGNS - sentCount - sendingCount} queued for later), never polled`],
    ['settings', `STATS_BUDGET ${config.stats.budget}, STATS_TRACK_DAYS ${config.stats.trackDays}, cycle ${cycleMs / 1000} s, bucket ${bucket.capacity} / ${bucket.refillPerSecond}/s → at most ${poller.perCycle} requests per cycle`],
    ['requests by list', byList(firstByList)],
    ['least by list', `${byList(least)} (pages down to the deepest tracked message)`],
    ['requests (simulator count)', `${thousands(requests.total)} (${requests.rateLimited} × 429)`],
    ['requests / least', `${first.requests} / ${leastTotal}`],
    ['ratio (requests / least)', ratio.toFixed(3)],
    ['cycle', `${brief(first)}; ${firstMs.toFixed(0)} ms`],
    ['send status after the cycle', statuses.map((s) => `${s.status} ${s.n}`).join(', ')],
    ['untracked counted', `${untracked} (messages from elsewhere on the pages read; not turned into campaigns)`],
    ['next cycle (+60 s)', `${second.requests} requests (${byList(perList)}); ${brief(second)}`],
  ]);
  console.log('\nAims');
  const met = printAim(`requests ≤ ${AIM_RATIO} × least`, ratio <= AIM_RATIO, ratio.toFixed(3));
  console.log(`  all aims met: ${met ? 'yes' : 'no'}`);

  // Closes the client and the database too.
  await fanout.stop();
  await sim.close();
  temp.dispose();
}

main().catch((error: unknown) => {
  console.error('bench:stats failed:', error);
  process.exit(1);
});
