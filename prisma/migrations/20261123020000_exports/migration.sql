-- Room log exports (admin): one row per requested export, written by the API/CLI (queued) and the
-- worker (running, progress, done/failed). head_seq is the room's head when the export was
-- requested: the file holds exactly the events 1..head_seq, so it is consistent as of that
-- moment however long the job takes or however often it is retried. The object lives in S3
-- under key (exports/<room_id>/<id>.ndjson.gz); bytes is its size, events its line count.
CREATE TABLE "exports" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "room_id" UUID NOT NULL,
    "format" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "head_seq" INTEGER NOT NULL,
    "events" INTEGER NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "key" TEXT NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    CONSTRAINT "exports_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "exports_room_id_fkey" FOREIGN KEY ("room_id") REFERENCES "rooms"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "exports_format_check" CHECK ("format" IN ('ndjson')),
    CONSTRAINT "exports_status_check" CHECK ("status" IN ('queued', 'running', 'done', 'failed')),
    CONSTRAINT "exports_head_seq_nonnegative" CHECK ("head_seq" >= 0),
    CONSTRAINT "exports_counts_nonnegative" CHECK ("events" >= 0 AND "bytes" >= 0)
);
CREATE INDEX "exports_room_id_created_at_idx" ON "exports"("room_id", "created_at");
