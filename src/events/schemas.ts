import { z } from 'zod';
import type { EventType } from './types.ts';

/*
 * The data each event type carries: one schema per type, used to type every writer (EventSpec)
 * and to document the events endpoints in OpenAPI. Loose objects: a writer may add context (an
 * OFAuth request id, say) without a schema change, but the named fields are always there.
 */

const isoOrMs = z.union([z.string(), z.number()]).nullable();
const failure = {
  kind: z.string().describe('retryable, ambiguous, auth, invalid or unexpected; too_late for a delete held because the message was already going out'),
  status: z.number().nullable().optional(),
  code: z.string().nullable().optional(),
  requestId: z.string().nullable().optional(),
  message: z.string(),
};

export const eventDataSchemas = {
  created: z.looseObject({ status: z.string(), revision: z.number() }),
  updated: z.looseObject({ fields: z.array(z.string()), revision: z.number() }),
  scheduled: z.looseObject({ scheduledAt: isoOrMs }),
  canceled: z.looseObject({ from: z.string(), remoteDeletePending: z.boolean(), sendsCanceled: z.number() }),
  deleted: z.looseObject({}),
  paused: z.looseObject({ sendsCanceled: z.number(), stillSending: z.number() }),
  resumed: z.looseObject({ nextOccurrenceAt: z.string().nullable() }),
  sync_requested: z.looseObject({}),
  test_requested: z.looseObject({ userId: z.number() }),
  unsend_requested: z.looseObject({ remoteId: z.string().nullable() }),
  occurrence_created: z.looseObject({ occurrenceAt: z.string(), number: z.number() }),
  occurrence_missed: z.looseObject({ occurrenceAt: z.string(), number: z.number(), reason: z.literal('missed_window') }),
  occurrence_canceled: z.looseObject({ occurrenceAt: z.string(), reason: z.string() }),
  follow_up_created: z.looseObject({ parentSendId: z.string(), index: z.number(), dueAt: z.string() }),
  buyers_list_created: z.looseObject({ listId: z.number(), name: z.string(), adopted: z.boolean() }),
  follow_up_audience: z.looseObject({ path: z.enum(['fan_ids', 'buyers_list']), buyers: z.number(), userIds: z.number(), buyersListId: z.number().nullable() }),
  series_ended: z.looseObject({ occurrences: z.number() }),
  sync_started: z.looseObject({ operation: z.enum(['create', 'update', 'delete', 'test_send', 'unsend']), userId: z.number().optional(), auto: z.boolean().optional(), revision: z.number().optional(), sendNow: z.boolean().optional(), remoteId: z.string().nullable().optional() }),
  remote_created: z.looseObject({ remoteId: z.string(), revision: z.number() }),
  remote_updated: z.looseObject({ remoteId: z.string(), revision: z.number(), previousRemoteId: z.string().nullable().optional() }),
  remote_deleted: z.looseObject({ remoteId: z.string().nullable(), alreadyGone: z.boolean().optional() }),
  adopted: z.looseObject({ remoteId: z.string(), list: z.string(), revision: z.number(), otherMatches: z.number() }),
  create_absent: z.looseObject({ startedAt: z.string() }),
  audience_resolved: z.looseObject({ chatFilters: z.array(z.string()), fans: z.number().describe('Fans the chat filters resolved to'), pages: z.number(), audience: z.number().describe('Fan ids sent: those and userIds') }),
  test_sent: z.looseObject({ chatMessageId: z.string(), userId: z.number() }),
  unsent: z.looseObject({
    remoteId: z.string().nullable(),
    auto: z.boolean().describe('true: message.unsendAfter; false: a marketer asked'),
    sentCount: z.number().nullable(),
    viewedCount: z.number().nullable(),
    purchasedCount: z.number().nullable(),
    alreadyGone: z.boolean().optional(),
  }),
  sync_error: z.looseObject({ operation: z.string(), ...failure }),
  failed: z.looseObject({ reason: z.string(), lateBySeconds: z.number().optional(), ...Object.fromEntries(Object.entries(failure).map(([k, v]) => [k, v.optional()])) }),
  status_changed: z.looseObject({ from: z.string(), to: z.string(), list: z.string(), remoteId: z.string().nullable() }),
  sent: z.looseObject({ sentAt: z.string(), sentCount: z.number().nullable() }),
  first_view: z.looseObject({ viewedCount: z.number().nullable() }),
  first_purchase: z.looseObject({ purchasedCount: z.number().nullable() }),
  remote_missing: z.looseObject({ remoteId: z.string().nullable(), status: z.string(), lastList: z.string().nullable(), lastSeenAt: z.string().nullable() }),
  remote_reappeared: z.looseObject({ list: z.string(), missingSince: z.string() }),
} satisfies Record<EventType, z.ZodType>;

export type EventData<T extends EventType> = z.input<(typeof eventDataSchemas)[T]>;
