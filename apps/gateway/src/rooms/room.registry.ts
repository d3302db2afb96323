import { Logger } from '@nestjs/common';
import type { RoomActor, RoomActorDeps } from './room.actor';
import { RoomActor as Actor } from './room.actor';

/**
 * The rooms this gateway holds, loaded on first use. Concurrent loads of one room share one
 * lease-and-replay, so a burst of connections does not raise the epoch several times.
 */
export class RoomRegistry {
  private readonly logger = new Logger(RoomRegistry.name);
  private readonly rooms = new Map<string, RoomActor>();
  private readonly loading = new Map<string, Promise<RoomActor | null>>();

  constructor(private readonly deps: Omit<RoomActorDeps, 'onLost'>) {}

  get(roomId: string): RoomActor | undefined {
    return this.rooms.get(roomId);
  }

  get size(): number {
    return this.rooms.size;
  }

  get isLoading(): boolean {
    return this.loading.size > 0;
  }

  all(): RoomActor[] {
    return [...this.rooms.values()];
  }

  /** The loaded room, or loads it (taking its lease). Null when the room does not exist. */
  getOrLoad(roomId: string): Promise<RoomActor | null> {
    const loaded = this.rooms.get(roomId);
    if (loaded) return Promise.resolve(loaded);
    const inFlight = this.loading.get(roomId);
    if (inFlight) return inFlight;
    const started = Date.now();
    const load = Actor.load(roomId, { ...this.deps, onLost: (actor) => this.forget(actor) })
      .then((actor) => {
        if (actor) {
          this.rooms.set(roomId, actor);
          const r = actor.loadReport!;
          this.logger.log(
            `room ${roomId} loaded in ${Date.now() - started} ms: epoch ${r.epoch}, head ${r.headSeq}, ` +
              `${r.snapshotSeq === null ? 'no snapshot' : `snapshot at ${r.snapshotSeq}`}, ${r.replayedEvents} event(s) replayed`,
          );
        }
        return actor;
      })
      .finally(() => this.loading.delete(roomId));
    this.loading.set(roomId, load);
    return load;
  }

  private forget(actor: RoomActor): void {
    if (this.rooms.get(actor.roomId) === actor) this.rooms.delete(actor.roomId);
  }
}
