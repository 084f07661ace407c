DROP INDEX `sends_sent_original_idx`;--> statement-breakpoint
ALTER TABLE `sends` ADD `follow_up_check_at` integer;--> statement-breakpoint
CREATE INDEX `sends_follow_up_check_idx` ON `sends` (`follow_up_check_at`) WHERE follow_up_check_at IS NOT NULL;--> statement-breakpoint
-- Sent originals that still owe a follow-up get its due time (see followUpCheckAt); the rest owe none.
UPDATE `sends` SET `follow_up_check_at` = `sent_at` + (
  SELECT json_extract(c.`follow_ups`, '$[' || `sends`.`follow_ups_made` || '].afterMs') FROM `campaigns` c WHERE c.`id` = `sends`.`campaign_id`
)
WHERE `status` = 'sent' AND `kind` IN ('scheduled', 'occurrence') AND `sent_at` IS NOT NULL AND `remote_id` IS NOT NULL
  AND `campaign_id` IN (
    SELECT `id` FROM `campaigns` WHERE `follow_up_count` > 0 AND `follow_ups_canceled_at` IS NULL AND `status` <> 'canceled'
  )
  AND `follow_ups_made` < (SELECT `follow_up_count` FROM `campaigns` c WHERE c.`id` = `sends`.`campaign_id`);
