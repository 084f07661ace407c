CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`connection_ids` text,
	`secret_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_secret_idx` ON `api_tokens` (`secret_hash`);--> statement-breakpoint
CREATE TABLE `campaign_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`campaign_id` text NOT NULL,
	`type` text NOT NULL,
	`actor` text NOT NULL,
	`at` integer NOT NULL,
	`data` text
);
--> statement-breakpoint
CREATE INDEX `campaign_events_campaign_idx` ON `campaign_events` (`campaign_id`,`id`);--> statement-breakpoint
CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`connection_id` text NOT NULL,
	`message` text NOT NULL,
	`audience` text NOT NULL,
	`scheduled_at` integer,
	`status` text NOT NULL,
	`revision` integer DEFAULT 1 NOT NULL,
	`failure_reason` text,
	`created_by` text NOT NULL,
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
CREATE INDEX `campaigns_due_idx` ON `campaigns` (`connection_id`,`sync_due_at`) WHERE sync_due_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX `campaigns_status_idx` ON `campaigns` (`status`,`id`);--> statement-breakpoint
CREATE INDEX `campaigns_connection_idx` ON `campaigns` (`connection_id`,`id`);--> statement-breakpoint
CREATE INDEX `campaigns_scheduled_idx` ON `campaigns` (`scheduled_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `campaigns_remote_idx` ON `campaigns` (`connection_id`,`remote_id`) WHERE remote_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `campaigns_tracked_idx` ON `campaigns` (`connection_id`,`sent_at`) WHERE remote_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `campaigns_stats_live_idx` ON `campaigns` (`connection_id`,`status`,`sent_at`) WHERE remote_id IS NOT NULL AND remote_deleted_at IS NULL;--> statement-breakpoint
CREATE TABLE `connections` (
	`id` text PRIMARY KEY NOT NULL,
	`paused_at` integer,
	`pause_reason` text,
	`last_probe_at` integer,
	`last_success_at` integer,
	`untracked_count` integer DEFAULT 0 NOT NULL,
	`stats_polled_at` integer
);
--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`token_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status_code` integer NOT NULL,
	`response_body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`token_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`kind` text NOT NULL,
	`owner` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`summary` text,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `runs_kind_idx` ON `runs` (`kind`,`id`);--> statement-breakpoint
CREATE TABLE `stats_snapshots` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`campaign_id` text NOT NULL,
	`observed_at` integer NOT NULL,
	`type` text NOT NULL,
	`sent_count` integer,
	`viewed_count` integer,
	`purchased_count` integer
);
--> statement-breakpoint
CREATE INDEX `stats_snapshots_campaign_idx` ON `stats_snapshots` (`campaign_id`,`observed_at`);--> statement-breakpoint
CREATE TABLE `stats_untracked` (
	`connection_id` text NOT NULL,
	`remote_id` text NOT NULL,
	`type` text NOT NULL,
	`first_seen_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL,
	PRIMARY KEY(`connection_id`, `remote_id`)
);
