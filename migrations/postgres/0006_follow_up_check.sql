DROP INDEX "sends_sent_original_idx";--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "follow_up_check_at" bigint;--> statement-breakpoint
CREATE INDEX "sends_follow_up_check_idx" ON "sends" USING btree ("follow_up_check_at") WHERE follow_up_check_at IS NOT NULL;--> statement-breakpoint
-- Sent originals that still owe a follow-up get its due time (see followUpCheckAt); the rest owe none.
UPDATE "sends" s SET "follow_up_check_at" = s."sent_at" + (c."follow_ups" -> s."follow_ups_made" ->> 'afterMs')::bigint
FROM "campaigns" c
WHERE c."id" = s."campaign_id" AND c."follow_up_count" > s."follow_ups_made" AND c."follow_ups_canceled_at" IS NULL AND c."status" <> 'canceled'
  AND s."status" = 'sent' AND s."kind" IN ('scheduled', 'occurrence') AND s."sent_at" IS NOT NULL AND s."remote_id" IS NOT NULL;
