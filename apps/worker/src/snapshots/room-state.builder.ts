import { Injectable } from '@nestjs/common';
import { adoptLegacyOwner, applyEvent, emptyRoomState, type RoomState } from '../../../../libs/domain/src';
import { JOB_PAGE_SIZE } from '../../../../libs/jobs/src';
import { EventLogRepository } from '../../../../libs/persistence/src';
import { SnapshotStore } from '../../../../libs/storage/src';

export interface BuiltRoomState {
  state: RoomState;
  /** Seq of the snapshot the build started from, 0 when it replayed from the first event. */
  fromSnapshotSeq: number;
  /** Events folded on top of it. */
  replayed: number;
}

/**
 * Rebuilds a room's state at an exact seq the way a gateway loads a room: the newest usable
 * snapshot at or below it, then the tail of the log folded on top, page by page (memory is one
 * page plus the bounded state).
 */
@Injectable()
export class RoomStateBuilder {
  constructor(
    private readonly log: EventLogRepository,
    private readonly snapshots: SnapshotStore,
  ) {}

  async build(roomId: string, seq: number, signal?: AbortSignal): Promise<BuiltRoomState> {
    const base = await this.snapshots.loadNewest(roomId, seq);
    const state = base?.state ?? emptyRoomState(roomId);
    const fromSnapshotSeq = base?.seq ?? 0;
    if (base && base.state.ownerId === null) {
      // A format-1 snapshot predates membership: its owner is the actor of room.created.
      const [created] = await this.log.readAfter(roomId, 0, 1);
      if (created?.actor) adoptLegacyOwner(state, created.actor);
    }
    while (state.headSeq < seq) {
      signal?.throwIfAborted();
      const page = await this.log.readAfter(roomId, state.headSeq, Math.min(JOB_PAGE_SIZE, seq - state.headSeq));
      if (page.length === 0) throw new Error(`room ${roomId}: the log ends at seq ${state.headSeq}, before seq ${seq}`);
      for (const event of page) applyEvent(state, event);
    }
    return { state, fromSnapshotSeq, replayed: state.headSeq - fromSnapshotSeq };
  }
}
