-- drizzle-kit 0.31 wrote this expression column with stray backticks (as in 0002); fixed by hand.
DROP INDEX `sends_planned_idx`;--> statement-breakpoint
CREATE INDEX `sends_planned_idx` ON `sends` (coalesce("due_at", "created_at"),`connection_id`,`status`,`kind`);
