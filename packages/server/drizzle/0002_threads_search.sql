CREATE TABLE "scheduled_messages" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"thread_id" text NOT NULL,
	"text" text NOT NULL,
	"operator_id" text NOT NULL,
	"scheduled_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'scheduled' NOT NULL,
	"job_id" text,
	"message_id" text,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "scheduled_messages_status_check" CHECK ("scheduled_messages"."status" in ('scheduled', 'sent', 'cancelled', 'skipped'))
);
--> statement-breakpoint
DROP INDEX "threads_chat_idx";--> statement-breakpoint
-- Edited by hand: messages stored before this migration get their thread's chat and bot, then the columns become NOT NULL.
ALTER TABLE "messages" ADD COLUMN "chat_id" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "bot_id" text;--> statement-breakpoint
UPDATE "messages" SET "chat_id" = t."chat_id", "bot_id" = t."bot_id" FROM "threads" t WHERE t."project_id" = "messages"."project_id" AND t."id" = "messages"."thread_id";--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "chat_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ALTER COLUMN "bot_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "threads" ADD COLUMN "activity_at" timestamp with time zone GENERATED ALWAYS AS (coalesce(last_message_at, created_at)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "scheduled_messages" ADD CONSTRAINT "scheduled_messages_project_id_thread_id_threads_project_id_id_fk" FOREIGN KEY ("project_id","thread_id") REFERENCES "public"."threads"("project_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "scheduled_messages_thread_idx" ON "scheduled_messages" USING btree ("project_id","thread_id","scheduled_at");--> statement-breakpoint
CREATE INDEX "messages_project_seq_idx" ON "messages" USING btree ("project_id","seq");--> statement-breakpoint
CREATE INDEX "messages_chat_seq_idx" ON "messages" USING btree ("project_id","chat_id","seq");--> statement-breakpoint
CREATE INDEX "messages_bot_seq_idx" ON "messages" USING btree ("project_id","bot_id","seq");--> statement-breakpoint
CREATE INDEX "threads_activity_idx" ON "threads" USING btree ("project_id","activity_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "threads_chat_activity_idx" ON "threads" USING btree ("project_id","chat_id","activity_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "threads_bot_activity_idx" ON "threads" USING btree ("project_id","bot_id","activity_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
-- Hand-written (not in schema.ts on purpose; see the comment on `messages` there).
-- Full-text search of messages for GET /threads?search=. The 'russian' configuration
-- stems Cyrillic words with the Russian Snowball stemmer and Latin ones with the
-- English stemmer, so one column serves both languages ("заказа" ~ "заказ", "orders" ~ "order").
ALTER TABLE "messages" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, "content")) STORED;--> statement-breakpoint
CREATE INDEX "messages_search_idx" ON "messages" USING gin ("search");
