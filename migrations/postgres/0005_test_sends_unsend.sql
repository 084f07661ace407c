ALTER TABLE "sends" ADD COLUMN "test_user_id" bigint;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "chat_message_id" text;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "unsend_after_ms" bigint;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "unsend_requested_at" bigint;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "unsend_started_at" bigint;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "unsent_at" bigint;--> statement-breakpoint
ALTER TABLE "sends" ADD COLUMN "unsendable_until" bigint;