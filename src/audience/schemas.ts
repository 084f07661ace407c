import { z } from 'zod';
import { chatFilters, sendStatuses } from '../campaigns/model.ts';

const isoOut = z.iso.datetime();
const listIdOut = z.union([z.number(), z.string()]);

export const overlapSchema = z
  .object({
    campaignId: z.string(),
    campaignName: z.string(),
    sendId: z.string(),
    status: z.enum(sendStatuses),
    plannedAt: isoOut,
    sharedUserLists: z.array(z.number()),
    sharedChatFilters: z.array(z.enum(chatFilters)),
    sharedFans: z.number().describe('Fan ids both reach by id'),
    message: z.string(),
  })
  .meta({ id: 'Overlap', description: "Another campaign's send on the same connection within OVERLAP_WINDOW that shares a list, a chat filter or fans" });

export const connectionParamsSchema = z.object({
  id: z.string().regex(/^conn_[A-Za-z0-9_-]{1,120}$/, 'expected an OFAuth connection id such as conn_abc123'),
});

export const connectionSchema = z
  .object({
    id: z.string(),
    isPaused: z.boolean(),
    pausedAt: isoOut.nullable(),
    pauseReason: z.string().nullable(),
    lastSuccessAt: isoOut.nullable().describe('The last call OFAuth accepted on it'),
    campaigns: z.number(),
    sendsQueued: z.number().describe('Sends not yet gone out (pending or queued)'),
  })
  .meta({ id: 'Connection' });

export const connectionListSchema = z.object({ items: z.array(connectionSchema) });

export const userListSchema = z.object({
  id: listIdOut.describe('As OFAuth gives it; use it in userLists / excludeUserLists'),
  name: z.string(),
  size: z.number().nullable().describe("OFAuth's usersCount; null when it gave none"),
  type: z.string().nullable(),
});

export const userListsResponseSchema = z.object({
  items: z.array(userListSchema),
  readAt: isoOut.describe('When OFAuth was read; the answer is cached for LISTS_CACHE_TTL'),
});

const listEstimateSchema = z.object({
  id: z.number(),
  name: z.string().nullable(),
  size: z.number().nullable(),
  isKnown: z.boolean().nullable().describe('Whether OFAuth has the list; null when the lists could not be read'),
});

export const previewSchema = z
  .object({
    audience: z.object({
      estimatedFans: z.number().describe('userIds plus the sizes of the included lists (exclusions not subtracted)'),
      isUpperBound: z.boolean().describe('True when sources may overlap or exclusions apply: fewer fans may receive it'),
      isComplete: z.boolean().describe('False when a list size is unknown or chat filters are not resolved yet'),
      userIds: z.number(),
      userLists: z.array(listEstimateSchema),
      excludeUserLists: z.array(listEstimateSchema),
      chatFilters: z.array(z.object({ filter: z.enum(chatFilters), fans: z.null(), note: z.string() })),
      listsReadAt: isoOut.nullable(),
      listsUnavailable: z.string().nullable().describe('Why the lists could not be read, if they could not'),
    }),
    sendAt: isoOut.nullable().describe('When the first send would go (null: as soon as synced)'),
    ofauthBody: z.record(z.string(), z.unknown()).describe('The body Fanout would send to OFAuth (chat-filter fans are added when resolved)'),
    overlaps: z.array(overlapSchema),
  })
  .meta({ id: 'CampaignPreview' });

export type OverlapView = z.output<typeof overlapSchema>;
export type PreviewView = z.output<typeof previewSchema>;
