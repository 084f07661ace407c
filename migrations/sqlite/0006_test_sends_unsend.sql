ALTER TABLE `sends` ADD `test_user_id` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `chat_message_id` text;--> statement-breakpoint
ALTER TABLE `sends` ADD `unsend_after_ms` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `unsend_requested_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `unsend_started_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `unsent_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `unsendable_until` integer;