import { z } from 'zod';
import { overlapSchema } from '../audience/schemas.ts';
import { parseDuration } from '../duration.ts';
import { cursorSchema, isoDateTimeSchema } from '../http/common-schemas.ts';
import { eventDataSchemas } from '../events/schemas.ts';
import { eventTypes, type EventType } from '../events/types.ts';
import { CAMPAIGN_ID_PATTERN } from '../ids.ts';
import { MAX_FOLLOW_UPS, followUpBodySchema } from './follow-ups.ts';
import { campaignStatuses, chatFilters, sendStatuses, syncStates } from './model.ts';

const positiveIdSchema = z.int().positive().max(Number.MAX_SAFE_INTEGER);

/** A positive integer, or its decimal string form; normalised to a number. */
const numericIdSchema = z
  .union([positiveIdSchema, z.string().regex(/^[1-9]\d{0,15}$/, 'expected a positive integer or numeric string')])
  .transform((id) => Number(id))
  .pipe(positiveIdSchema);

const uniqueNumbers = (ids: number[]) => [...new Set(ids)];

/** Vault media id, upload reference (e.g. ofauth_upload_…) or http(s) URL. */
const mediaItemSchema = z.union([
  positiveIdSchema,
  z
    .string()
    .min(1)
    .max(2048)
    .refine(
      (s) => /^[1-9]\d*$/.test(s) || /^https?:\/\/\S+$/i.test(s) || /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(s),
      'expected a vault media id, an upload reference or an http(s) URL',
    ),
]);

const priceSchema = z
  .number()
  .refine((p) => p === 0 || (p >= 3 && p <= 200), 'price must be 0 (free) or between 3 and 200')
  .refine((p) => Math.abs(Math.round(p * 100) - p * 100) < 1e-6, 'price has at most two decimals');

const releaseFormsSchema = z.strictObject({
  users: z.array(positiveIdSchema).default([]),
  partners: z.array(positiveIdSchema).default([]),
  guests: z.array(positiveIdSchema).default([]),
});

/**
 * message.unsendAfter: a duration with a unit ("30m", "6h", "1d") or whole seconds, stored and
 * answered as seconds. At least a minute; the upper bound is OFAuth's window (checked by the
 * service, which knows OFAUTH_UNSEND_WINDOW).
 */
const unsendAfterSchema = z
  .union([
    z.int().min(60, 'unsendAfter is at least 60 seconds'),
    z.string().transform((text, ctx) => {
      const ms = /^\s*\d+(\.\d+)?\s*(s|m|h|d)\s*$/.test(text) ? parseDuration(text) : null;
      if (ms === null || ms < 60_000) {
        ctx.addIssue({ code: 'custom', message: 'unsendAfter is a duration of at least a minute such as "30m", "6h" or "1d", or whole seconds' });
        return z.NEVER;
      }
      return Math.round(ms / 1000);
    }),
  ])
  .nullable()
  .describe('Unsend each send this long after it went out ("delete if unread"): "30m", "6h", "1d" or seconds; answered in seconds; null: never');

const messageFields = {
  text: z.string().max(10_000, 'text is at most 10,000 characters'),
  mediaItems: z.array(mediaItemSchema),
  price: priceSchema,
  previewMediaCount: z.int().min(0),
  isLockedText: z.boolean(),
  isMarkdown: z.boolean(),
  userTags: z.array(positiveIdSchema).transform(uniqueNumbers),
  releaseForms: releaseFormsSchema,
  unsendAfter: unsendAfterSchema,
};

/** Checks that need the whole message; run on create and on the merged result of a PATCH. */
export function findMessageProblems(m: { mediaItems: unknown[]; previewMediaCount: number }): string | null {
  if (m.previewMediaCount > m.mediaItems.length) {
    return `previewMediaCount (${m.previewMediaCount}) is more than the number of mediaItems (${m.mediaItems.length})`;
  }
  return null;
}

export const messageSchema = z
  .strictObject({
    text: messageFields.text.default(''),
    mediaItems: messageFields.mediaItems.default([]),
    price: messageFields.price.default(0),
    previewMediaCount: messageFields.previewMediaCount.default(0),
    isLockedText: messageFields.isLockedText.default(false),
    isMarkdown: messageFields.isMarkdown.default(true),
    userTags: messageFields.userTags.default([]),
    releaseForms: releaseFormsSchema.default({ users: [], partners: [], guests: [] }),
    unsendAfter: messageFields.unsendAfter.default(null),
  })
  .superRefine((m, ctx) => {
    const problem = findMessageProblems(m);
    if (problem) ctx.addIssue({ code: 'custom', path: ['previewMediaCount'], message: problem });
  })
  .meta({
    example: { text: 'New set drops tonight 🔥', mediaItems: [4211, 4212], price: 9.99, previewMediaCount: 1 },
  });

export const messagePatchSchema = z.strictObject({
  text: messageFields.text.optional(),
  mediaItems: messageFields.mediaItems.optional(),
  price: messageFields.price.optional(),
  previewMediaCount: messageFields.previewMediaCount.optional(),
  isLockedText: messageFields.isLockedText.optional(),
  isMarkdown: messageFields.isMarkdown.optional(),
  userTags: messageFields.userTags.optional(),
  releaseForms: releaseFormsSchema.optional(),
  unsendAfter: messageFields.unsendAfter.optional(),
});

const idListSchema = z.array(numericIdSchema).transform(uniqueNumbers);
const subscribedAfterSchema = isoDateTimeSchema.nullable().transform((d) => (d === null ? null : new Date(d).toISOString()));

const chatFiltersSchema = z
  .array(z.enum(chatFilters))
  .transform((filters) => [...new Set(filters)])
  .describe('Fans of the chats OFAuth lists under each filter, resolved to fan ids shortly before the send (AUDIENCE_RESOLVE_LEAD) and joined with userIds');

/** Audience rules that need the whole audience; run on create and on the merged PATCH result. */
export function findAudienceProblems(a: { userIds: number[]; userLists: number[]; excludeUserLists: number[]; chatFilters?: string[] }): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (a.userIds.length === 0 && a.userLists.length === 0 && (a.chatFilters ?? []).length === 0) {
    problems.push({ path: 'userIds', message: 'the audience needs at least one of userIds, userLists or chatFilters' });
  }
  const excluded = new Set(a.excludeUserLists);
  const both = a.userLists.filter((id) => excluded.has(id));
  if (both.length > 0) {
    problems.push({ path: 'excludeUserLists', message: `lists both included and excluded: ${both.join(', ')}` });
  }
  return problems;
}

export const audienceSchema = z
  .strictObject({
    userIds: idListSchema.default([]),
    userLists: idListSchema.default([]),
    excludeUserLists: idListSchema.default([]),
    subscribedAfterDate: subscribedAfterSchema.default(null),
    chatFilters: chatFiltersSchema.default([]),
  })
  .superRefine((a, ctx) => {
    for (const p of findAudienceProblems(a)) ctx.addIssue({ code: 'custom', path: [p.path], message: p.message });
  })
  .meta({ example: { userLists: [1, 3], excludeUserLists: [4], userIds: [] } });

export const audiencePatchSchema = z.strictObject({
  userIds: idListSchema.optional(),
  userLists: idListSchema.optional(),
  excludeUserLists: idListSchema.optional(),
  subscribedAfterDate: subscribedAfterSchema.optional(),
  chatFilters: chatFiltersSchema.optional(),
});

const nameSchema = z.string().trim().min(1, 'name must not be empty').max(200);
const connectionIdSchema = z
  .string()
  .regex(/^conn_[A-Za-z0-9_-]{1,120}$/, 'expected an OFAuth connection id such as conn_abc123');

/** A series; its rules that need the clock and the configured minimum interval run in the service. */
export const recurrenceSchema = z
  .strictObject({
    cron: z.string().trim().min(1).max(200).describe('Five-field cron (minute hour day-of-month month day-of-week), in `timezone`'),
    timezone: z.string().min(1).max(100).default('UTC').describe('IANA time zone, e.g. Europe/Berlin'),
    endsAt: isoDateTimeSchema.nullable().default(null).describe('No occurrence after this time'),
    maxOccurrences: z.int().min(1).max(10_000).nullable().default(null).describe('At most this many occurrences (missed ones count)'),
  })
  .meta({ example: { cron: '0 20 * * 5', timezone: 'America/New_York', endsAt: null, maxOccurrences: 12 } });

const followUpsSchema = z
  .array(followUpBodySchema(messageSchema))
  .max(MAX_FOLLOW_UPS, `at most ${MAX_FOLLOW_UPS} follow-ups`)
  .describe('PPV only: after each send went out, a message to the fans it reached who did not buy');

export const createCampaignBodySchema = z
  .strictObject({
    name: nameSchema,
    connectionId: connectionIdSchema,
    message: messageSchema,
    audience: audienceSchema,
    scheduledAt: isoDateTimeSchema
      .nullable()
      .describe('When to send (ISO-8601 with offset; stored in UTC), or null to send as soon as synced. Required so that "send now" is never an accident. With `recurrence`: the series start (null: from now).'),
    recurrence: recurrenceSchema.nullable().default(null).describe('Makes the campaign a series: one send per occurrence'),
    status: z.enum(['draft', 'scheduled']).default('scheduled'),
    followUps: followUpsSchema.default([]),
  })
  .meta({
    example: {
      name: 'Friday PPV drop',
      connectionId: 'conn_sandbox',
      message: { text: 'New set drops tonight 🔥', mediaItems: [4211], price: 9.99, previewMediaCount: 1 },
      audience: { userLists: [1, 3], excludeUserLists: [4] },
      scheduledAt: '2030-01-01T18:00:00Z',
      status: 'scheduled',
    },
  });

export const patchCampaignBodySchema = z
  .strictObject({
    name: nameSchema.optional(),
    message: messagePatchSchema.optional(),
    audience: audiencePatchSchema.optional(),
    scheduledAt: isoDateTimeSchema.nullable().optional(),
    recurrence: recurrenceSchema.nullable().optional().describe('A series\' schedule (replaces it whole); null makes a draft one-shot again'),
    followUps: followUpsSchema.optional().describe('Replaces the follow-ups whole ([] removes them); applies to follow-ups not yet made'),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one of name, message, audience, scheduledAt, recurrence, followUps')
  .meta({ example: { message: { text: 'Updated: new set drops at 8pm 🔥' }, scheduledAt: '2030-01-01T20:00:00Z' } });

export const campaignParamsSchema = z.object({
  id: z.string().regex(CAMPAIGN_ID_PATTERN, 'expected a campaign id such as cmp_01J…'),
});

const statusFilterSchema = z
  .union([z.enum(campaignStatuses), z.array(z.enum(campaignStatuses))])
  .transform((s) => (Array.isArray(s) ? s : [s]));

// Strict: a misspelt filter (?stauts=draft) is an error, not a silent "list everything".
export const listCampaignsQuerySchema = z.strictObject({
  status: statusFilterSchema.optional().describe('Repeatable: ?status=scheduled&status=queued'),
  connectionId: connectionIdSchema.optional(),
  scheduledFrom: isoDateTimeSchema.optional(),
  scheduledTo: isoDateTimeSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema,
});

const isoOut = z.iso.datetime();

export const syncViewSchema = z.object({
  state: z.enum(syncStates),
  remoteId: z.string().nullable(),
  revision: z.number(),
  syncedRevision: z.number(),
  attempts: z.number(),
  lastError: z.string().nullable(),
  nextAttemptAt: isoOut.nullable(),
  lastSyncedAt: isoOut.nullable(),
});

export const statsViewSchema = z.object({ sentCount: z.number().nullable(), viewedCount: z.number().nullable(), purchasedCount: z.number().nullable(), observedAt: isoOut });

const messageViewSchema = z.object({
  text: z.string(),
  mediaItems: z.array(z.union([z.number(), z.string()])),
  price: z.number(),
  previewMediaCount: z.number(),
  isLockedText: z.boolean(),
  isMarkdown: z.boolean(),
  userTags: z.array(z.number()),
  releaseForms: z.object({ users: z.array(z.number()), partners: z.array(z.number()), guests: z.array(z.number()) }),
  unsendAfter: z.number().nullable().optional().describe('Seconds after a send went out that sync unsends it; null: never'),
});

export const followUpViewSchema = z.object({ after: z.string(), message: messageViewSchema, audience: z.literal('non_buyers') });

export const campaignSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    connectionId: z.string(),
    message: messageViewSchema,
    audience: z.object({
      userIds: z.array(z.number()),
      userLists: z.array(z.number()),
      excludeUserLists: z.array(z.number()),
      subscribedAfterDate: isoOut.nullable(),
      chatFilters: z.array(z.enum(chatFilters)).optional().describe('Present when the audience has chat filters'),
    }),
    scheduledAt: isoOut.nullable(),
    recurrence: z
      .object({ cron: z.string(), timezone: z.string(), endsAt: isoOut.nullable(), maxOccurrences: z.number().nullable() })
      .optional()
      .describe('Series only'),
    nextOccurrenceAt: isoOut.nullable().optional().describe('Series only: the next occurrence not yet made a send (null: the series has ended)'),
    sendCounts: z.record(z.enum(sendStatuses), z.number()).optional().describe('Series only: its sends by status'),
    followUps: z.array(followUpViewSchema).optional().describe('Only when it has follow-ups; each follow-up is a send of kind follow_up'),
    status: z.enum(campaignStatuses),
    failureReason: z.string().nullable(),
    sync: syncViewSchema.nullable().describe("A one-shot campaign's send's sync state; null for a series (see its sends)"),
    stats: statsViewSchema.nullable().describe("What the poller observed: the one-shot's send, or the sum of a series' sends"),
    createdAt: isoOut,
    updatedAt: isoOut,
    createdBy: z.string(),
  })
  .meta({ id: 'Campaign' });

/** A create or PATCH answer: `warnings` lists overlapping sends, and is absent when there are none. */
export const campaignWithWarningsSchema = campaignSchema
  .extend({ warnings: z.array(overlapSchema).optional().describe("Other campaigns' sends on the connection within OVERLAP_WINDOW that share a list, a chat filter or fans") })
  .meta({ id: 'CampaignWithWarnings' });

export const campaignListSchema = z.object({
  items: z.array(campaignSchema),
  nextCursor: z.string().nullable(),
});

const eventBase = {
  id: z.number(),
  sendId: z.string().nullable().describe('The send the event is about; null when it is about the campaign'),
  actor: z.string().describe("A token's name, or system:sync, system:stats, system:series"),
  at: isoOut,
};

/**
 * One event: a discriminated union on `type`, each with its data schema (src/events/schemas.ts).
 * Fields are optional here so events written before a field existed still read back.
 */
export const eventSchema = z
  .discriminatedUnion(
    'type',
    eventTypes.map((type) => z.object({ ...eventBase, type: z.literal(type), data: eventDataSchemas[type].partial().nullable() })) as unknown as [
      z.ZodObject<typeof eventBase & { type: z.ZodLiteral<EventType>; data: z.ZodNullable<z.ZodType<Record<string, unknown>>> }>,
    ],
  )
  .meta({ id: 'Event' });

export const eventListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: cursorSchema,
});

export const eventListSchema = z.object({ items: z.array(eventSchema), nextCursor: z.string().nullable() });

export type CreateCampaignBody = z.output<typeof createCampaignBodySchema>;
export type PatchCampaignBody = z.output<typeof patchCampaignBodySchema>;
export type ListCampaignsQuery = z.output<typeof listCampaignsQuerySchema>;
export type CampaignView = z.output<typeof campaignSchema>;
export type EventView = z.output<typeof eventSchema>;
