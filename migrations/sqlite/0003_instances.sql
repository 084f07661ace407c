CREATE TABLE `connection_leases` (
	`connection_id` text PRIMARY KEY NOT NULL,
	`owner` text,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `connection_leases_owner_idx` ON `connection_leases` (`owner`);--> statement-breakpoint
CREATE TABLE `instances` (
	`id` text PRIMARY KEY NOT NULL,
	`host` text NOT NULL,
	`pid` integer NOT NULL,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `stats_poll_state` (
	`connection_id` text PRIMARY KEY NOT NULL,
	`carry` text,
	`budget_milli_tokens` integer NOT NULL,
	`budget_updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `token_versions` (
	`id` integer PRIMARY KEY NOT NULL,
	`version` integer NOT NULL
);
