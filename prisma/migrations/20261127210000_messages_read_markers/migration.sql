-- Read markers, unread counts and search (issue 11). The room's log stays the truth:
-- `room_messages` is a projection of its `message.*` events (each message's current text after
-- edits; a deleted message has no row), written by the owning gateway in the same statement as
-- the events, under the same epoch fence (EventLogRepository APPEND_SQL). `read_markers` is not
-- room history at all: per user and room, monotonic, written by the gateway's read-marker batcher.

-- Not partitioned: every read names a room (search, unread) or goes through the GIN index
-- (GET /search), and the rows are the messages alone, not every event.
CREATE TABLE "room_messages" (
    "room_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "actor_id" UUID,
    "actor_username" TEXT,
    "text" TEXT NOT NULL,
    "reply_to" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    -- 'simple': no stemming and no stop words, so any language matches word by word.
    "search" TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, "text")) STORED,
    -- actor_id in the key's index: counting others' unread messages is an index-only scan.
    CONSTRAINT "room_messages_pkey" PRIMARY KEY ("room_id", "seq") INCLUDE ("actor_id"),
    CONSTRAINT "room_messages_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "room_messages_search_idx" ON "room_messages" USING GIN ("search");

CREATE TABLE "read_markers" (
    "user_id" UUID NOT NULL,
    "room_id" UUID NOT NULL,
    "last_read_seq" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "read_markers_pkey" PRIMARY KEY ("user_id", "room_id"),
    CONSTRAINT "read_markers_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- Backfill from the log, set-based (one pass over the log, not a lookup per message): every
-- posted message not deleted since, with the text of its last edit.
WITH "last_edit" AS (
  SELECT DISTINCT ON ("room_id", ("data"->>'seq')::int) "room_id", ("data"->>'seq')::int AS "target", "data"->>'text' AS "text"
    FROM "room_events" WHERE "type" = 'message.edited'
   ORDER BY "room_id", ("data"->>'seq')::int, "seq" DESC
), "deleted" AS (
  SELECT DISTINCT "room_id", ("data"->>'seq')::int AS "target" FROM "room_events" WHERE "type" = 'message.deleted'
)
INSERT INTO "room_messages" ("room_id", "seq", "actor_id", "actor_username", "text", "reply_to", "created_at")
SELECT p."room_id", p."seq", p."actor_id", p."actor_username", COALESCE(x."text", p."data"->>'text'),
       (p."data"->>'replyTo')::int, p."created_at"
  FROM "room_events" p
  LEFT JOIN "last_edit" x ON x."room_id" = p."room_id" AND x."target" = p."seq"
 WHERE p."type" = 'message.posted'
   AND NOT EXISTS (SELECT 1 FROM "deleted" d WHERE d."room_id" = p."room_id" AND d."target" = p."seq");
