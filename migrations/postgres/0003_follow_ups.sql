ALTER TABLE "campaigns" ADD COLUMN "follow_ups" jsonb;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "follow_up_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "follow_ups_canceled_at" bigint;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "parent_send_id" text COLLATE "C";--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "follow_up_index" integer;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "follow_up" jsonb;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "follow_ups_made" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "sends_follow_up_idx" ON "sends" USING btree ("parent_send_id","follow_up_index") WHERE kind = 'follow_up';--> statement-breakpoint
CREATE INDEX "sends_sent_original_idx" ON "sends" USING btree ("sent_at") WHERE status = 'sent' AND kind <> 'follow_up';