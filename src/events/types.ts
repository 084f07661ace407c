import type { EventData } from './schemas.ts';

/**
 * Every event type the audit log holds. Writers name one of these; the data schemas and their
 * OpenAPI documentation live in ./schemas.ts.
 */
export const eventTypes = [
  // The marketer's actions on a campaign.
  'created',
  'updated',
  'scheduled',
  'canceled',
  'deleted',
  'paused',
  'resumed',
  'sync_requested',
  'test_requested',
  'unsend_requested',
  // The series materialiser.
  'occurrence_created',
  'occurrence_missed',
  'occurrence_canceled',
  'series_ended',
  // Follow-ups: made by the materialiser, prepared (buyers read, buyers list) by the sync.
  'follow_up_created',
  'buyers_list_created',
  'follow_up_audience',
  // The sync loop, per send.
  'sync_started',
  'remote_created',
  'remote_updated',
  'remote_deleted',
  'adopted',
  'create_absent',
  'audience_resolved',
  'sync_error',
  'failed',
  'test_sent',
  'unsent',
  // The stats poller, per send.
  'status_changed',
  'sent',
  'first_view',
  'first_purchase',
  'remote_missing',
  'remote_reappeared',
] as const;
export type EventType = (typeof eventTypes)[number];

/** Who did it: a token's name for marketers, or one of the service's own loops. */
export type Actor = string;
export const SYNC_ACTOR = 'system:sync';
export const STATS_ACTOR = 'system:stats';
export const SERIES_ACTOR = 'system:series';

/**
 * An event to append: about the campaign, or (with sendId) about one of its sends. A
 * discriminated union, so each writer's data is checked against its type's schema.
 */
export type EventSpec = {
  [T in EventType]: { type: T; actor: Actor; sendId?: string | null; data?: EventData<T> };
}[EventType];
