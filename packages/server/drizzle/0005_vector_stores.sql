-- Edited by hand: vector_store_chunk_embeddings needs pgvector, so db/migrate.ts creates it where the extension exists.
CREATE TABLE "vector_store_chunks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"vector_store_id" text NOT NULL,
	"file_id" text NOT NULL,
	"chunk_index" integer NOT NULL,
	"content" text NOT NULL,
	"tokens" integer NOT NULL,
	"byte_start" integer NOT NULL,
	"byte_end" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vector_store_file_batches" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"vector_store_id" text NOT NULL,
	"cancelled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "vector_store_files" (
	"vector_store_id" text NOT NULL,
	"file_id" text NOT NULL,
	"project_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"last_error" jsonb,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"chunking_strategy" jsonb NOT NULL,
	"batch_id" text,
	"filename" text NOT NULL,
	"usage_bytes" bigint DEFAULT 0 NOT NULL,
	"chunk_count" integer DEFAULT 0 NOT NULL,
	"lease_until" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vector_store_files_vector_store_id_file_id_pk" PRIMARY KEY("vector_store_id","file_id"),
	CONSTRAINT "vector_store_files_status_check" CHECK ("vector_store_files"."status" in ('pending', 'processed', 'error'))
);
--> statement-breakpoint
CREATE TABLE "vector_stores" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"name" text DEFAULT '' NOT NULL,
	"description" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"expires_after" jsonb,
	"last_active_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "vector_store_chunks" ADD CONSTRAINT "vector_store_chunks_vector_store_id_file_id_vector_store_files_vector_store_id_file_id_fk" FOREIGN KEY ("vector_store_id","file_id") REFERENCES "public"."vector_store_files"("vector_store_id","file_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vector_store_file_batches" ADD CONSTRAINT "vector_store_file_batches_vector_store_id_vector_stores_id_fk" FOREIGN KEY ("vector_store_id") REFERENCES "public"."vector_stores"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vector_store_files" ADD CONSTRAINT "vector_store_files_vector_store_id_vector_stores_id_fk" FOREIGN KEY ("vector_store_id") REFERENCES "public"."vector_stores"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vector_store_files" ADD CONSTRAINT "vector_store_files_file_id_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."files"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vector_stores" ADD CONSTRAINT "vector_stores_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "vector_store_chunks_file_idx" ON "vector_store_chunks" USING btree ("vector_store_id","file_id","chunk_index");--> statement-breakpoint
CREATE INDEX "vector_store_file_batches_store_idx" ON "vector_store_file_batches" USING btree ("vector_store_id");--> statement-breakpoint
CREATE INDEX "vector_store_files_list_idx" ON "vector_store_files" USING btree ("vector_store_id","created_at" DESC NULLS LAST,"file_id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "vector_store_files_file_idx" ON "vector_store_files" USING btree ("file_id");--> statement-breakpoint
CREATE INDEX "vector_store_files_batch_idx" ON "vector_store_files" USING btree ("batch_id") WHERE "vector_store_files"."batch_id" is not null;--> statement-breakpoint
CREATE INDEX "vector_store_files_pending_idx" ON "vector_store_files" USING btree ("lease_until") WHERE "vector_store_files"."status" = 'pending';--> statement-breakpoint
CREATE INDEX "vector_stores_project_idx" ON "vector_stores" USING btree ("project_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "vector_stores_expires_idx" ON "vector_stores" USING btree ("expires_at") WHERE "vector_stores"."expires_at" is not null;--> statement-breakpoint
-- Hand-written (not in schema.ts on purpose; see the comment on `vector_store_chunks` there).
-- Full-text half of knowledge-base search. The 'russian' configuration stems Cyrillic with the
-- Russian Snowball stemmer and Latin with the English one; codes such as SKU-48213 stay tokens.
ALTER TABLE "vector_store_chunks" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (to_tsvector('russian'::regconfig, "content")) STORED;--> statement-breakpoint
CREATE INDEX "vector_store_chunks_search_idx" ON "vector_store_chunks" USING gin ("search");
