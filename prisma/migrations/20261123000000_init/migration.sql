-- Users: passwords are scrypt hashes, never plain text.
CREATE TABLE "users" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "username" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" TEXT NOT NULL DEFAULT 'user',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "users_role_check" CHECK ("role" IN ('user', 'admin'))
);
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- Rooms: head_seq and epoch are the fence every append is checked against in the same
-- statement (see EventLogRepository.appendBatch): an append must continue head_seq exactly and
-- carry the current epoch, so the database, not the gateway, keeps each log gap-free and
-- single-writer.
CREATE TABLE "rooms" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "head_seq" INTEGER NOT NULL DEFAULT 0,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "owner_gateway_id" TEXT,
    CONSTRAINT "rooms_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "rooms_created_by_fkey" FOREIGN KEY ("created_by") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- The append-only event log. (room_id, seq) is the order; (room_id, actor_id, client_msg_id)
-- makes sends idempotent. actor_username is denormalised because usernames never change and
-- every read (history, join, export) needs it.
CREATE TABLE "room_events" (
    "room_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "actor_id" UUID,
    "actor_username" TEXT,
    "client_msg_id" TEXT,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "room_events_pkey" PRIMARY KEY ("room_id", "seq"),
    CONSTRAINT "room_events_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "room_events_seq_positive" CHECK ("seq" >= 1)
);
CREATE UNIQUE INDEX "room_events_room_id_actor_id_client_msg_id_key" ON "room_events"("room_id", "actor_id", "client_msg_id");
