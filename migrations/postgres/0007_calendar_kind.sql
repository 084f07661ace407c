DROP INDEX "sends_planned_idx";--> statement-breakpoint
CREATE INDEX "sends_planned_idx" ON "sends" USING btree (coalesce("due_at", "created_at"),"connection_id","status","kind");