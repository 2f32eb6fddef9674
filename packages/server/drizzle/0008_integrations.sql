CREATE TABLE "integrations" (
	"id" text PRIMARY KEY NOT NULL,
	"project_id" text NOT NULL,
	"name" text NOT NULL,
	"vendor" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"status_reason" text,
	"auth_ciphertext" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integrations_status_check" CHECK ("integrations"."status" in ('active', 'disabled', 'error')),
	CONSTRAINT "integrations_vendor_check" CHECK ("integrations"."vendor" in ('telegram', 'whatsapp', 'vk', 'ok', 'max', 'github', 'google', 'yandex', 'amocrm', 'bitrix', 'avito', 'sber', 'worken'))
);
--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "integrations_project_idx" ON "integrations" USING btree ("project_id","created_at","id");--> statement-breakpoint
-- Written by hand (drizzle-kit cannot express it without a circle between the modules' table files):
-- a chat of an integration goes with it. Existing rows have no integration (API chats).
ALTER TABLE "chats" ADD CONSTRAINT "chats_integration_id_fkey" FOREIGN KEY ("integration_id") REFERENCES "public"."integrations"("id") ON DELETE cascade;--> statement-breakpoint
CREATE INDEX "chats_integration_idx" ON "chats" USING btree ("integration_id") WHERE "integration_id" IS NOT NULL;
