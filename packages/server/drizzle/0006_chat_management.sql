ALTER TABLE "chats" ADD COLUMN "settings" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- Edited by hand: nothing kept a bot's chat names apart before this migration. The oldest chat of each name keeps
-- it; the others get their id appended ("Website (chat_…)", still at most 200 characters), which no other chat can
-- already be called, so the unique index below can be built on any existing data.
UPDATE "chats" SET "name" = left(c."name", 200 - length(c."id") - 3) || ' (' || c."id" || ')', "updated_at" = now()
FROM (SELECT "id", "name", row_number() OVER (PARTITION BY "bot_id", lower("name") ORDER BY "created_at", "id") AS "rank" FROM "chats") c
WHERE c."id" = "chats"."id" AND c."rank" > 1;--> statement-breakpoint
CREATE UNIQUE INDEX "chats_bot_name_key" ON "chats" USING btree ("bot_id",lower("name"));--> statement-breakpoint
DROP INDEX "chats_bot_idx";
