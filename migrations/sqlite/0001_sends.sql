CREATE TABLE `sends` (
	`id` text PRIMARY KEY NOT NULL,
	`campaign_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`kind` text NOT NULL,
	`occurrence_at` integer,
	`due_at` integer,
	`revision` integer DEFAULT 1 NOT NULL,
	`status` text NOT NULL,
	`reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`sync_state` text DEFAULT 'idle' NOT NULL,
	`remote_id` text,
	`remote_deleted_at` integer,
	`synced_revision` integer DEFAULT 0 NOT NULL,
	`create_started_at` integer,
	`create_revision` integer,
	`create_fingerprint` text,
	`create_ambiguous` integer DEFAULT false NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_error` text,
	`next_attempt_at` integer,
	`last_synced_at` integer,
	`sync_due_at` integer,
	`lease_owner` text,
	`lease_expires_at` integer,
	`remote_list` text,
	`remote_seen_at` integer,
	`sent_at` integer,
	`sent_count` integer,
	`viewed_count` integer,
	`purchased_count` integer,
	`remote_price_cents` integer,
	`stats_observed_at` integer,
	`remote_missing_at` integer
);
--> statement-breakpoint
CREATE INDEX `sends_due_idx` ON `sends` (`connection_id`,`sync_due_at`) WHERE sync_due_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `sends_campaign_idx` ON `sends` (`campaign_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `sends_one_shot_idx` ON `sends` (`campaign_id`) WHERE kind = 'scheduled';--> statement-breakpoint
CREATE UNIQUE INDEX `sends_occurrence_idx` ON `sends` (`campaign_id`,`occurrence_at`) WHERE kind = 'occurrence' AND status <> 'canceled';--> statement-breakpoint
CREATE UNIQUE INDEX `sends_remote_idx` ON `sends` (`connection_id`,`remote_id`) WHERE remote_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `sends_tracked_idx` ON `sends` (`connection_id`,`sent_at`) WHERE remote_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `sends_tracked_id_idx` ON `sends` (`connection_id`,`id`,`status`,`sent_at`,`remote_id`,`remote_list`,`remote_seen_at`,`remote_missing_at`,`created_at`) WHERE remote_id IS NOT NULL AND remote_deleted_at IS NULL;--> statement-breakpoint
-- Each existing campaign becomes a campaign plus its one send, which takes over the sync state
-- (a create in flight with its intent and fingerprint included, so it is still resolved by search
-- and adoption), the lease and the stats. The send id reuses the campaign's ULID: one-shot
-- campaigns have exactly one send, and the id stays time-sortable. Drafts have no send yet, nor
-- do campaigns canceled before anything reached OFAuth.
INSERT INTO `sends` (
	`id`, `campaign_id`, `connection_id`, `kind`, `occurrence_at`, `due_at`, `revision`, `status`, `reason`, `created_at`, `updated_at`,
	`sync_state`, `remote_id`, `remote_deleted_at`, `synced_revision`, `create_started_at`, `create_revision`, `create_fingerprint`,
	`create_ambiguous`, `attempts`, `last_error`, `next_attempt_at`, `last_synced_at`, `sync_due_at`, `lease_owner`, `lease_expires_at`,
	`remote_list`, `remote_seen_at`, `sent_at`, `sent_count`, `viewed_count`, `purchased_count`, `remote_price_cents`, `stats_observed_at`, `remote_missing_at`
)
SELECT
	'snd_' || substr(`id`, 5), `id`, `connection_id`, 'scheduled', NULL, `scheduled_at`, `revision`,
	CASE `status` WHEN 'scheduled' THEN 'pending' ELSE `status` END,
	`failure_reason`, `created_at`, `updated_at`,
	`sync_state`, `remote_id`, `remote_deleted_at`, `synced_revision`, `create_started_at`, `create_revision`, `create_fingerprint`,
	`create_ambiguous`, `attempts`, `last_error`, `next_attempt_at`, `last_synced_at`, `sync_due_at`, `lease_owner`, `lease_expires_at`,
	`remote_list`, `remote_seen_at`, `sent_at`, `sent_count`, `viewed_count`, `purchased_count`, `remote_price_cents`, `stats_observed_at`, `remote_missing_at`
FROM `campaigns`
WHERE `status` <> 'draft'
	AND NOT (`status` = 'canceled' AND `remote_id` IS NULL AND `create_started_at` IS NULL);
--> statement-breakpoint
DROP INDEX `campaigns_due_idx`;--> statement-breakpoint
DROP INDEX `campaigns_remote_idx`;--> statement-breakpoint
DROP INDEX `campaigns_tracked_idx`;--> statement-breakpoint
DROP INDEX `campaigns_stats_live_idx`;--> statement-breakpoint
DROP INDEX `campaigns_scheduled_idx`;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `recurrence` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `series_cursor_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `occurrence_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `next_occurrence_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `missed_before` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `series_due_at` integer;--> statement-breakpoint
CREATE INDEX `campaigns_series_due_idx` ON `campaigns` (`series_due_at`) WHERE series_due_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `campaigns_scheduled_idx` ON `campaigns` (`scheduled_at`,`id`);--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `sync_state`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `remote_id`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `remote_deleted_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `synced_revision`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `create_started_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `create_revision`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `create_fingerprint`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `create_ambiguous`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `attempts`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `last_error`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `next_attempt_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `last_synced_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `sync_due_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `lease_owner`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `lease_expires_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `remote_list`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `remote_seen_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `sent_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `sent_count`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `viewed_count`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `purchased_count`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `remote_price_cents`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `stats_observed_at`;--> statement-breakpoint
ALTER TABLE `campaigns` DROP COLUMN `remote_missing_at`;--> statement-breakpoint
ALTER TABLE `campaign_events` ADD `send_id` text;--> statement-breakpoint
CREATE INDEX `campaign_events_send_idx` ON `campaign_events` (`send_id`,`id`) WHERE send_id IS NOT NULL;--> statement-breakpoint
ALTER TABLE `stats_snapshots` ADD `send_id` text;--> statement-breakpoint
CREATE INDEX `stats_snapshots_send_idx` ON `stats_snapshots` (`send_id`,`observed_at`);--> statement-breakpoint
UPDATE `stats_snapshots` SET `send_id` = 'snd_' || substr(`campaign_id`, 5);--> statement-breakpoint
-- The loops' events were about the campaign's one remote message: they now name its send.
UPDATE `campaign_events` SET `send_id` = 'snd_' || substr(`campaign_id`, 5)
WHERE `actor` LIKE 'system:%' AND EXISTS (SELECT 1 FROM `sends` s WHERE s.`id` = 'snd_' || substr(`campaign_events`.`campaign_id`, 5));
