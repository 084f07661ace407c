ALTER TABLE `campaigns` ADD `follow_ups` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `follow_up_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `follow_ups_canceled_at` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `parent_send_id` text;--> statement-breakpoint
ALTER TABLE `sends` ADD `follow_up_index` integer;--> statement-breakpoint
ALTER TABLE `sends` ADD `follow_up` text;--> statement-breakpoint
ALTER TABLE `sends` ADD `follow_ups_made` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `sends_follow_up_idx` ON `sends` (`parent_send_id`,`follow_up_index`) WHERE kind = 'follow_up';--> statement-breakpoint
CREATE INDEX `sends_sent_original_idx` ON `sends` (`sent_at`) WHERE status = 'sent' AND kind <> 'follow_up';