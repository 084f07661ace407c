import type { Audience, CampaignStatus, Message, SendStatus } from '../../src/campaigns/model.ts';
import { systemClock } from '../../src/clock.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import { newCampaignId } from '../../src/ids.ts';
import { mulberry32 } from '../../src/ofauth/simulator/faults.ts';
import { oneShotSendId } from './campaigns.ts';

const DAY = 86_400_000;
export const BENCH_CONNECTION_IDS = Array.from({ length: 8 }, (_, i) => `conn_agency_${i + 1}`);

/** The simulator's seeded PRNG, so every run seeds the same rows and picks the same ids. */
export const prng = mulberry32;

/**
 * Inserts `rows` one-shot campaigns over the last 90 days, each but the drafts with its send
 * (drafts have none yet), through prepared statements in one transaction, with messages and
 * audiences as varied as real ones (media, prices, tags, lists). Each send's sync columns are
 * what the sync plan derives from its status. Returns the campaign ids.
 */
export function seedApiCampaigns(db: Db, rows: number, random: () => number): string[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const statuses: CampaignStatus[] = ['sent', 'sent', 'sent', 'sent', 'queued', 'scheduled', 'draft', 'canceled', 'failed'];
  const texts = [
    'New set drops tonight 🔥 Unlock it before Sunday and tell me which one is your favourite.',
    'Thank you for being here! A little something for my favourite subscribers, just for today.',
    '**Weekend special**: the full behind-the-scenes video, uncut, for the next 48 hours only.',
  ];
  const insert = db.$client.prepare(
    `INSERT INTO campaigns (id, name, connection_id, message, audience, scheduled_at, status, revision, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertSend = db.$client.prepare(
    `INSERT INTO sends (id, campaign_id, connection_id, kind, due_at, revision, status, reason, created_at, updated_at,
       sync_state, remote_id, synced_revision, last_synced_at, sync_due_at, sent_at, sent_count, viewed_count, purchased_count, stats_observed_at)
     VALUES (?, ?, ?, 'scheduled', ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const now = systemClock.now();
  const start = now - 90 * DAY;
  const ids: string[] = [];
  db.$client.transaction(() => {
    for (let i = 0; i < rows; i++) {
      // Ascending creation times, so ids (time-sortable) are in insertion order as in production.
      const createdAt = start + Math.floor((i / rows) * 90 * DAY);
      const id = newCampaignId(createdAt);
      ids.push(id);
      const mediaCount = int(0, 4);
      const price = mediaCount === 0 ? 0 : pick([0, 4.99, 9.99, 14.99, 25]);
      const message: Message = {
        text: pick(texts),
        mediaItems: Array.from({ length: mediaCount }, () => (random() < 0.8 ? int(100_000, 9_999_999) : `ofauth_upload_${int(1, 1e9)}`)),
        price,
        previewMediaCount: Math.min(mediaCount, price > 0 ? 1 : 0),
        isLockedText: price > 0 && random() < 0.3,
        isMarkdown: true,
        userTags: random() < 0.2 ? [int(1, 1e6)] : [],
        releaseForms: { users: [], partners: [], guests: [] },
      };
      const audience: Audience = {
        userIds: random() < 0.1 ? Array.from({ length: int(1, 5) }, () => int(1, 5e8)) : [],
        userLists: Array.from({ length: int(1, 3) }, () => int(1000, 9999)),
        excludeUserLists: random() < 0.5 ? [int(10_000, 19_999)] : [],
        subscribedAfterDate: random() < 0.2 ? new Date(start - int(0, 365) * DAY).toISOString() : null,
      };
      const status = pick(statuses);
      const scheduledAt = createdAt + int(1, 7 * 24) * 3_600_000;
      const isRemote = status === 'sent' || status === 'queued';
      const isSent = status === 'sent';
      const connectionId = pick(BENCH_CONNECTION_IDS);
      insert.run(
        id,
        `Campaign ${i + 1}: ${message.text.slice(0, 24)}`,
        connectionId,
        JSON.stringify(message),
        JSON.stringify(audience),
        scheduledAt,
        status,
        1,
        pick(['alice@agency', 'bob@agency', 'carol@agency']),
        createdAt,
        createdAt,
      );
      if (status === 'draft') continue;
      const sendStatus: SendStatus = status === 'scheduled' ? 'pending' : (status as SendStatus);
      // A pending send is owed its create; the others are mirrored (queued, sent) or final.
      const isDue = sendStatus === 'pending';
      insertSend.run(
        oneShotSendId(id),
        id,
        connectionId,
        scheduledAt,
        sendStatus,
        sendStatus === 'failed' ? 'ofauth_rejected' : null,
        createdAt,
        createdAt,
        isDue ? 'pending' : isRemote ? 'synced' : 'idle',
        isRemote ? `mm_${i + 1}` : null,
        isRemote ? 1 : 0,
        isRemote ? createdAt + 5_000 : null,
        isDue ? createdAt : null,
        isSent ? scheduledAt : null,
        isSent ? int(100, 50_000) : null,
        isSent ? int(10, 20_000) : null,
        isSent ? int(0, 2_000) : null,
        isSent ? scheduledAt + DAY : null,
      );
    }
  })();
  return ids;
}
