import { z } from 'zod';
import { sendKinds, sendStatuses } from '../campaigns/model.ts';
import { eventSchema, statsViewSchema, syncViewSchema } from '../campaigns/schemas.ts';
import { cursorSchema } from '../http/common-schemas.ts';
import { SEND_ID_PATTERN } from '../ids.ts';

const isoOut = z.iso.datetime();

export const sendParamsSchema = z.object({
  id: z.string().regex(SEND_ID_PATTERN, 'expected a send id such as snd_01J…'),
});

const statusFilterSchema = z
  .union([z.enum(sendStatuses), z.array(z.enum(sendStatuses))])
  .transform((s) => (Array.isArray(s) ? s : [s]));

export const listSendsQuerySchema = z.strictObject({
  status: statusFilterSchema.optional().describe('Repeatable: ?status=queued&status=sent'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: cursorSchema,
});

export const sendSchema = z
  .object({
    id: z.string(),
    campaignId: z.string(),
    connectionId: z.string(),
    kind: z.enum(sendKinds),
    occurrenceAt: isoOut.nullable().describe('The series occurrence this send is; null for a one-shot'),
    dueAt: isoOut.nullable().describe('When it goes out; null: as soon as synced'),
    status: z.enum(sendStatuses),
    reason: z.string().nullable().describe('Why it failed or was canceled (missed_window, ofauth_rejected, remote_error, paused, schedule_changed, campaign_canceled, empty_audience, audience_too_large, not_delivered)'),
    sentAt: isoOut.nullable(),
    testUserId: z.number().nullable().describe('A test send: the fan it went to; null for mass messages'),
    unsend: z
      .object({
        dueAt: isoOut.nullable().describe('When sync unsends it (message.unsendAfter, or a request); null: not planned'),
        auto: z.boolean().describe('Planned by message.unsendAfter, not asked for'),
        unsentAt: isoOut.nullable(),
        windowClosesAt: isoOut.nullable().describe("OFAuth's unsend window end as last seen (canUnsend / unsendSeconds); null: unknown"),
      })
      .nullable(),
    sync: syncViewSchema,
    stats: statsViewSchema.nullable(),
    followUp: z
      .object({
        parentSendId: z.string().describe('The send whose non-buyers it goes to'),
        index: z.number().describe("Its place in the campaign's followUps (earliest first)"),
        path: z.enum(['fan_ids', 'buyers_list']).describe('fan_ids: buyers subtracted from the fan ids; buyers_list: an OFAuth list of the buyers excluded'),
        buyersListId: z.number().nullable(),
        buyers: z.number().nullable().describe('Buyers read before it was created (list path: added to the buyers list)'),
      })
      .optional()
      .describe('Follow-ups only'),
    audience: z
      .object({ resolvedFans: z.number().describe('Fan ids the chat filters resolved to (joined with userIds)'), resolvedAt: isoOut })
      .optional()
      .describe('Present once a chat-filter audience was resolved for this send'),
    createdAt: isoOut,
    updatedAt: isoOut,
  })
  .meta({
    id: 'Send',
    example: {
      id: 'snd_01JD3ZQ5V6W7X8Y9Z0A1B2C3D4',
      campaignId: 'cmp_01JD3ZQ5V6W7X8Y9Z0A1B2C3D4',
      connectionId: 'conn_sandbox',
      kind: 'occurrence',
      occurrenceAt: '2030-01-04T20:00:00.000Z',
      dueAt: '2030-01-04T20:00:00.000Z',
      status: 'queued',
      reason: null,
      sentAt: null,
      testUserId: null,
      unsend: null,
      sync: { state: 'synced', remoteId: '9001', revision: 2, syncedRevision: 2, attempts: 0, lastError: null, nextAttemptAt: null, lastSyncedAt: '2030-01-04T19:00:03.000Z' },
      stats: null,
      createdAt: '2030-01-04T19:00:00.000Z',
      updatedAt: '2030-01-04T19:00:03.000Z',
    },
  });

export const sendListSchema = z.object({ items: z.array(sendSchema), nextCursor: z.string().nullable() });

export const sendWithEventsSchema = sendSchema.extend({ events: z.array(eventSchema).describe('Oldest first (the latest 500)') }).meta({ id: 'SendWithEvents' });

export const testSendBodySchema = z
  .strictObject({ userId: z.union([z.int().positive(), z.string().regex(/^[1-9]\d{0,15}$/).transform(Number)]).describe('The fan who receives the test (often the creator or a team member)') })
  .meta({ example: { userId: 101 } });

export type SendView = z.output<typeof sendSchema>;
export type ListSendsQuery = z.output<typeof listSendsQuerySchema>;
