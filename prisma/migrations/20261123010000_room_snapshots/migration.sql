-- Snapshot metadata: which room state snapshots exist in S3 (rooms/<id>/snapshots/<seq>).
-- A row is written only after its object was stored, and only by the room's current lease
-- holder (SnapshotRepository.recordIfCurrent checks rooms.epoch in the same statement), so a
-- fenced old owner cannot add rows. Snapshots are an optimisation: the event log stays the truth.
-- epoch records who wrote it; key, bytes and checksum describe the object, for loading and retention.
CREATE TABLE "room_snapshots" (
    "room_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "key" TEXT NOT NULL,
    "bytes" INTEGER NOT NULL,
    "checksum" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "room_snapshots_pkey" PRIMARY KEY ("room_id", "seq"),
    CONSTRAINT "room_snapshots_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "room_snapshots_seq_positive" CHECK ("seq" >= 1),
    CONSTRAINT "room_snapshots_bytes_nonnegative" CHECK ("bytes" >= 0)
);
