-- message_embeddings needs pgvector: it is created by the migration runner (src/db/migrate.ts) where the extension exists.
CREATE TABLE "chats" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"bot_id" text NOT NULL,
	"integration_id" text,
	"name" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "chats_status_check" CHECK ("chats"."status" in ('active', 'disabled', 'error'))
);
--> statement-breakpoint
CREATE TABLE "events" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"project_id" text NOT NULL,
	"type" text NOT NULL,
	"chat_id" text,
	"thread_id" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"project_id" text NOT NULL,
	"thread_id" text NOT NULL,
	"role" text NOT NULL,
	"content" text NOT NULL,
	"parts" jsonb,
	"author" text NOT NULL,
	"operator_id" text,
	"model" text,
	"input_tokens" integer,
	"output_tokens" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_role_check" CHECK ("messages"."role" in ('user', 'assistant', 'tool', 'system')),
	CONSTRAINT "messages_author_check" CHECK ("messages"."author" in ('user', 'bot', 'operator', 'system'))
);
--> statement-breakpoint
CREATE TABLE "persons" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"name" text,
	"avatar_url" text,
	"external_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "threads" (
	"project_id" text NOT NULL,
	"id" text NOT NULL,
	"chat_id" text NOT NULL,
	"bot_id" text NOT NULL,
	"mode" text DEFAULT 'auto' NOT NULL,
	"title" text,
	"pending_count" integer DEFAULT 0 NOT NULL,
	"working_memory" text,
	"person_id" text,
	"last_message_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "threads_project_id_id_pk" PRIMARY KEY("project_id","id"),
	CONSTRAINT "threads_mode_check" CHECK ("threads"."mode" in ('auto', 'manual', 'operator', 'blocked')),
	CONSTRAINT "threads_pending_check" CHECK ("threads"."pending_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "tool_approvals" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"thread_id" text NOT NULL,
	"tool_call_id" text NOT NULL,
	"tool_name" text NOT NULL,
	"input" jsonb,
	"policy" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"decided_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp with time zone,
	CONSTRAINT "tool_approvals_status_check" CHECK ("tool_approvals"."status" in ('pending', 'approved', 'denied')),
	CONSTRAINT "tool_approvals_policy_check" CHECK ("tool_approvals"."policy" in ('user_approve', 'operator_approve'))
);
--> statement-breakpoint
ALTER TABLE "chats" ADD CONSTRAINT "chats_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chats" ADD CONSTRAINT "chats_bot_id_bots_id_fk" FOREIGN KEY ("bot_id") REFERENCES "public"."bots"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_project_id_thread_id_threads_project_id_id_fk" FOREIGN KEY ("project_id","thread_id") REFERENCES "public"."threads"("project_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "persons" ADD CONSTRAINT "persons_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads" ADD CONSTRAINT "threads_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads" ADD CONSTRAINT "threads_chat_id_chats_id_fk" FOREIGN KEY ("chat_id") REFERENCES "public"."chats"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "threads" ADD CONSTRAINT "threads_person_id_persons_id_fk" FOREIGN KEY ("person_id") REFERENCES "public"."persons"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_approvals" ADD CONSTRAINT "tool_approvals_project_id_thread_id_threads_project_id_id_fk" FOREIGN KEY ("project_id","thread_id") REFERENCES "public"."threads"("project_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "chats_project_idx" ON "chats" USING btree ("project_id","created_at","id");--> statement-breakpoint
CREATE INDEX "chats_bot_idx" ON "chats" USING btree ("bot_id");--> statement-breakpoint
CREATE UNIQUE INDEX "events_id_key" ON "events" USING btree ("id");--> statement-breakpoint
CREATE INDEX "events_project_idx" ON "events" USING btree ("project_id","seq");--> statement-breakpoint
CREATE INDEX "events_chat_type_idx" ON "events" USING btree ("chat_id","type","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_id_key" ON "messages" USING btree ("id");--> statement-breakpoint
CREATE INDEX "messages_thread_idx" ON "messages" USING btree ("project_id","thread_id","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "persons_project_external_key" ON "persons" USING btree ("project_id","external_id");--> statement-breakpoint
CREATE INDEX "threads_chat_idx" ON "threads" USING btree ("chat_id","last_message_at");--> statement-breakpoint
CREATE INDEX "tool_approvals_thread_idx" ON "tool_approvals" USING btree ("project_id","thread_id");