-- The event log becomes a table hash-partitioned on room_id: 16 partitions room_events_p00..p15.
-- Every query of the log names one room (room_id = $1), so the planner reads exactly one
-- partition; each partition's indexes, vacuum and statistics cover a sixteenth of the log. The
-- keys already lead with room_id, so none of them changes: a partitioned table's primary key and
-- unique indexes must contain the partition key, and (room_id, seq) and
-- (room_id, actor_id, client_msg_id) do. Changing the count later is a new migration that copies
-- the log again (README, "Partitioned event log").
--
-- Upgrades a database that already holds events: build the partitioned table under another
-- name, copy every row, drop the old table, take over its name, then build the keys on the
-- filled partitions (one sorted build each, faster than maintaining them row by row). The whole
-- script is one transaction: a failure leaves the old table as it was.

-- Appends block until the swap commits. Without the lock, an append committed after the copy's
-- snapshot and before the DROP would be lost.
LOCK TABLE "room_events" IN ACCESS EXCLUSIVE MODE;

CREATE TABLE "room_events_partitioned" (
    "room_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "actor_id" UUID,
    "actor_username" TEXT,
    "client_msg_id" TEXT,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "room_events_seq_positive" CHECK ("seq" >= 1)
) PARTITION BY HASH ("room_id");

CREATE TABLE "room_events_p00" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 0);
CREATE TABLE "room_events_p01" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 1);
CREATE TABLE "room_events_p02" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 2);
CREATE TABLE "room_events_p03" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 3);
CREATE TABLE "room_events_p04" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 4);
CREATE TABLE "room_events_p05" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 5);
CREATE TABLE "room_events_p06" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 6);
CREATE TABLE "room_events_p07" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 7);
CREATE TABLE "room_events_p08" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 8);
CREATE TABLE "room_events_p09" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 9);
CREATE TABLE "room_events_p10" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 10);
CREATE TABLE "room_events_p11" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 11);
CREATE TABLE "room_events_p12" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 12);
CREATE TABLE "room_events_p13" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 13);
CREATE TABLE "room_events_p14" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 14);
CREATE TABLE "room_events_p15" PARTITION OF "room_events_partitioned" FOR VALUES WITH (MODULUS 16, REMAINDER 15);

INSERT INTO "room_events_partitioned" ("room_id", "seq", "type", "actor_id", "actor_username", "client_msg_id", "data", "created_at")
SELECT "room_id", "seq", "type", "actor_id", "actor_username", "client_msg_id", "data", "created_at" FROM "room_events";

DROP TABLE "room_events";
ALTER TABLE "room_events_partitioned" RENAME TO "room_events";

-- The same names as before (20261123000000_init), so errors and Prisma still name them alike.
-- Each is created on every partition too (room_events_pNN_pkey and so on).
ALTER TABLE "room_events" ADD CONSTRAINT "room_events_pkey" PRIMARY KEY ("room_id", "seq");
CREATE UNIQUE INDEX "room_events_room_id_actor_id_client_msg_id_key" ON "room_events"("room_id", "actor_id", "client_msg_id");
ALTER TABLE "room_events" ADD CONSTRAINT "room_events_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Autovacuum analyses the partitions, never the partitioned parent: give the planner the
-- parent's statistics now.
ANALYZE "room_events";
