import { z } from 'zod';
import { campaignStatuses, sendKinds, sendStatuses } from '../campaigns/model.ts';
import { isoDateTimeSchema } from '../http/common-schemas.ts';

const isoOut = z.iso.datetime();
const listTypeSchema = z.enum(['scheduled', 'unsent', 'sent']);
const connectionIdSchema = z.string().regex(/^conn_[A-Za-z0-9_-]{1,120}$/, 'expected an OFAuth connection id such as conn_abc123');

/** A series' stats list at most this many of its sends (the sums cover all of them). */
export const MAX_SERIES_SENDS = 1_000;

export const campaignStatsQuerySchema = z.object({
  from: isoDateTimeSchema.optional().describe('Only snapshots observed at or after this instant.'),
  to: isoDateTimeSchema.optional().describe('Only snapshots observed at or before this instant.'),
  limit: z.coerce.number().int().min(1).max(5_000).default(1_000).describe('At most this many snapshots, oldest first.'),
});

export const snapshotSchema = z.object({
  observedAt: isoOut,
  type: listTypeSchema.describe('The OFAuth stats list the message was in'),
  sentCount: z.number().nullable(),
  viewedCount: z.number().nullable(),
  purchasedCount: z.number().nullable(),
  sendId: z.string().optional().describe('Series only: the send (occurrence) this snapshot is of'),
});

export const seriesSendStatsSchema = z.object({
  id: z.string(),
  kind: z.enum(sendKinds),
  occurrenceAt: isoOut.nullable().describe('The series occurrence this send is'),
  status: z.enum(sendStatuses),
  sentAt: isoOut.nullable(),
  sentCount: z.number().nullable(),
  viewedCount: z.number().nullable(),
  purchasedCount: z.number().nullable(),
  revenueEstimate: z.number().describe('purchasedCount × price (as OFAuth reported it for this send, else the campaign\'s), in dollars'),
});

export const campaignStatsSchema = z
  .object({
    campaignId: z.string(),
    status: z.enum(campaignStatuses),
    list: listTypeSchema.nullable().describe('The stats list the message was last seen in; null before the first poll found it, and for a series (see sends)'),
    sentAt: isoOut.nullable().describe('When the message was sent; for a series, when its latest send was'),
    observedAt: isoOut.nullable().describe('When these counts were read from OFAuth (for a series, the latest of its sends)'),
    remoteMissingSince: isoOut.nullable().describe('Set when OFAuth stopped listing the message (deleted or canceled elsewhere); for a series, the earliest among its sends still missing'),
    sentCount: z.number().nullable().describe('For a series: the sum over its sends observed so far'),
    viewedCount: z.number().nullable(),
    purchasedCount: z.number().nullable(),
    viewRate: z.number().nullable().describe('viewedCount / sentCount; null until something was sent'),
    purchaseRate: z.number().nullable().describe('purchasedCount / sentCount; null until something was sent'),
    price: z.number().describe('Unlock price in dollars used for the estimate (for a series, the campaign\'s own: each send\'s estimate uses its own)'),
    priceSource: z.enum(['remote', 'campaign']).describe('remote: as OFAuth reported it; campaign: the campaign\'s own price (OFAuth gave none, or a series)'),
    revenueEstimate: z.number().describe('purchasedCount × price, in dollars; for a series, the sum of its sends\' estimates'),
    snapshots: z.array(snapshotSchema).describe('Recorded only when the list or a count changed; oldest first (for a series, of all its sends)'),
    hasMore: z.boolean().describe('More snapshots match: ask again with from set after the last one'),
    followUps: z.array(seriesSendStatsSchema).optional().describe("One-shot only, when it has follow-ups: each follow-up send's own outcome (not in the campaign's counts)"),
    sends: z.array(seriesSendStatsSchema).optional().describe(`Series only: each of its sends, newest first (at most ${MAX_SERIES_SENDS})`),
    sendsHasMore: z.boolean().optional().describe(`Series only: it has more than ${MAX_SERIES_SENDS} sends; the sums cover them all`),
  })
  .meta({
    example: {
      campaignId: 'cmp_01JH8Z6Q4W5X2V9T3B7N0M1K8D',
      status: 'sent',
      list: 'sent',
      sentAt: '2030-01-01T18:00:00.000Z',
      observedAt: '2030-01-01T19:30:00.000Z',
      remoteMissingSince: null,
      sentCount: 1175,
      viewedCount: 512,
      purchasedCount: 61,
      viewRate: 0.4357,
      purchaseRate: 0.0519,
      price: 9.99,
      priceSource: 'remote',
      revenueEstimate: 609.39,
      snapshots: [
        { observedAt: '2030-01-01T18:00:00.000Z', type: 'unsent', sentCount: 380, viewedCount: 0, purchasedCount: 0 },
        { observedAt: '2030-01-01T18:01:00.000Z', type: 'sent', sentCount: 1175, viewedCount: 96, purchasedCount: 9 },
        { observedAt: '2030-01-01T19:30:00.000Z', type: 'sent', sentCount: 1175, viewedCount: 512, purchasedCount: 61 },
      ],
      hasMore: false,
    },
  });

export const statsSummaryQuerySchema = z.object({
  connectionId: connectionIdSchema.optional().describe('Only this connection (one the token may use).'),
  from: isoDateTimeSchema.optional().describe('Sends sent at or after this instant; default 30 days before `to`.'),
  to: isoDateTimeSchema.optional().describe('Sends sent at or before this instant; default now.'),
});

const totalsFields = {
  campaignsSent: z
    .number()
    .describe('Mass messages (sends) sent in the period: one per one-shot campaign, one per occurrence of a series. Named for compatibility: it counts sends, not campaigns'),
  messagesSent: z.number().describe('Sum of their sentCount (recipients reached)'),
  views: z.number(),
  purchases: z.number(),
  revenueEstimate: z.number().describe('Sum of purchasedCount × price, in dollars'),
};
const totalsSchema = z.object(totalsFields);
const dayTotalsSchema = z.object({ date: z.iso.date().describe('UTC day the sends were sent'), ...totalsFields });

export const statsSummarySchema = z
  .object({
    from: isoOut,
    to: isoOut,
    totals: totalsSchema,
    days: z.array(dayTotalsSchema).describe('Across the listed connections; days without a send are left out'),
    connections: z.array(
      z.object({
        connectionId: z.string(),
        untrackedMessages: z.number().describe('Mass messages the poller met in OFAuth\'s lists that no send owns (sent from elsewhere); not limited to the period'),
        statsPolledAt: isoOut.nullable(),
        totals: totalsSchema,
        days: z.array(dayTotalsSchema),
      }),
    ),
  })
  .meta({
    example: {
      from: '2030-01-01T00:00:00.000Z',
      to: '2030-01-02T23:59:59.999Z',
      totals: { campaignsSent: 3, messagesSent: 2650, views: 1190, purchases: 131, revenueEstimate: 1308.69 },
      days: [
        { date: '2030-01-01', campaignsSent: 2, messagesSent: 1475, views: 640, purchases: 70, revenueEstimate: 699.3 },
        { date: '2030-01-02', campaignsSent: 1, messagesSent: 1175, views: 550, purchases: 61, revenueEstimate: 609.39 },
      ],
      connections: [
        {
          connectionId: 'conn_sandbox',
          untrackedMessages: 4,
          statsPolledAt: '2030-01-02T23:59:00.000Z',
          totals: { campaignsSent: 3, messagesSent: 2650, views: 1190, purchases: 131, revenueEstimate: 1308.69 },
          days: [
            { date: '2030-01-01', campaignsSent: 2, messagesSent: 1475, views: 640, purchases: 70, revenueEstimate: 699.3 },
            { date: '2030-01-02', campaignsSent: 1, messagesSent: 1175, views: 550, purchases: 61, revenueEstimate: 609.39 },
          ],
        },
      ],
    },
  });

export type CampaignStatsQuery = z.output<typeof campaignStatsQuerySchema>;
export type CampaignStatsView = z.output<typeof campaignStatsSchema>;
export type StatsSummaryQuery = z.output<typeof statsSummaryQuerySchema>;
export type StatsSummaryView = z.output<typeof statsSummarySchema>;
export type TotalsView = z.output<typeof totalsSchema>;
export type SeriesSendStatsView = z.output<typeof seriesSendStatsSchema>;
