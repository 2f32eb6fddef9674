CREATE TABLE "owed_replies" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"thread_id" text NOT NULL,
	"chat_id" text NOT NULL,
	"new_messages" integer NOT NULL,
	"due_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "owed_replies" ADD CONSTRAINT "owed_replies_project_id_thread_id_threads_project_id_id_fk" FOREIGN KEY ("project_id","thread_id") REFERENCES "public"."threads"("project_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "owed_replies_due_idx" ON "owed_replies" USING btree ("due_at");--> statement-breakpoint
CREATE INDEX "owed_replies_thread_idx" ON "owed_replies" USING btree ("project_id","thread_id");