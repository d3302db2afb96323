-- Rooms get members (issue 10). The room's log stays the truth: `room_members` is a projection
-- of its `room.created` and `member.*` events, written by the owning gateway in the same
-- transaction as the events, under the same epoch fence, and rebuildable from the log
-- (`npm run cli -- rebuild-members`). The API reads it to enforce who may read and join a room
-- without loading the room.

-- Every room created before this was open to anyone: they stay public.
ALTER TABLE "rooms" ADD COLUMN "visibility" TEXT NOT NULL DEFAULT 'public';
ALTER TABLE "rooms" ADD CONSTRAINT "rooms_visibility_check" CHECK ("visibility" IN ('public', 'private'));

-- One row per user the room knows: a member (with role and mute), an open invitation, or a ban.
-- No foreign key to users: a row is derived from the log, which names users by id, and a
-- rebuild must be able to write whatever the log says.
CREATE TABLE "room_members" (
    "room_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "username" TEXT,
    "status" TEXT NOT NULL,
    "role" TEXT,
    "muted_until" TIMESTAMPTZ(3),
    CONSTRAINT "room_members_pkey" PRIMARY KEY ("room_id", "user_id"),
    CONSTRAINT "room_members_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "room_members_status_check" CHECK ("status" IN ('member', 'invited', 'banned')),
    CONSTRAINT "room_members_role_check" CHECK (("status" = 'member') = ("role" IS NOT NULL) AND ("role" IS NULL OR "role" IN ('owner', 'moderator', 'member')))
);
-- GET /rooms: the caller's rooms.
CREATE INDEX "room_members_user_id_status_idx" ON "room_members"("user_id", "status");

-- The creators of existing rooms are their owners, as folding each room's `room.created` says.
INSERT INTO "room_members" ("room_id", "user_id", "username", "status", "role")
SELECT r."id", r."created_by", u."username", 'member', 'owner'
FROM "rooms" r JOIN "users" u ON u."id" = r."created_by";
