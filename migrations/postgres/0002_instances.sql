CREATE TABLE "connection_leases" (
	"connection_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"owner" text COLLATE "C",
	"expires_at" bigint
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"pid" integer NOT NULL,
	"started_at" bigint NOT NULL,
	"heartbeat_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stats_poll_state" (
	"connection_id" text COLLATE "C" PRIMARY KEY NOT NULL,
	"carry" jsonb,
	"budget_milli_tokens" bigint NOT NULL,
	"budget_updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "token_versions" (
	"id" integer PRIMARY KEY NOT NULL,
	"version" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "connection_leases_owner_idx" ON "connection_leases" USING btree ("owner");