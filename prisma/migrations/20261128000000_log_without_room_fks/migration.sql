-- The log and its message projection without per-row foreign keys to `rooms` (issue 9).
--
-- Every row of `room_events` and `room_messages` is written by the append statement
-- (EventLogRepository APPEND_SQL), and only for a room its fenced `UPDATE rooms` advanced: that
-- UPDATE proves the room exists and holds the row's lock until COMMIT, so no DELETE of the room
-- can slip in between. The foreign keys proved it again for every row, a trigger call and a
-- `rooms` lookup each: 1.4 ms of a 200-event statement's 7 ms, about 15 % of Postgres' CPU per
-- message (BENCHMARKS.md). What they also did, deleting a room's events and messages with the
-- room (ON DELETE CASCADE), is done by one statement-level trigger instead. Room ids never
-- change, so ON UPDATE CASCADE has nothing to replace. The other tables that name a room
-- (snapshots, exports, members, read markers) keep their foreign keys: they are not on the
-- hot path.

ALTER TABLE "room_events" DROP CONSTRAINT "room_events_room_id_fkey";
ALTER TABLE "room_messages" DROP CONSTRAINT "room_messages_room_id_fkey";

CREATE FUNCTION "rooms_delete_log"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "room_events" e USING "deleted_rooms" d WHERE e."room_id" = d."id";
  DELETE FROM "room_messages" m USING "deleted_rooms" d WHERE m."room_id" = d."id";
  RETURN NULL;
END
$$;

CREATE TRIGGER "rooms_delete_log"
  AFTER DELETE ON "rooms"
  REFERENCING OLD TABLE AS "deleted_rooms"
  FOR EACH STATEMENT EXECUTE FUNCTION "rooms_delete_log"();
