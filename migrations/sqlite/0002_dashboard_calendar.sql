-- drizzle-kit 0.31 wrote this expression column with stray backticks; fixed by hand before merge.
CREATE INDEX `sends_planned_idx` ON `sends` (coalesce("due_at", "created_at"),`connection_id`,`status`);
