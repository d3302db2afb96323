import { Logger } from '@nestjs/common';
import { DomainError } from '../../../../libs/domain/src';
import type { RetireOptions, RetireOutcome, RoomActor, RoomActorDeps } from './room.actor';
import { RoomActor as Actor } from './room.actor';

/** How a load (resume) of a room ended: loaded, no such room, or it threw (Postgres, S3, lease). */
export type RoomLoadOutcome = 'loaded' | 'not_found' | 'failed';

export interface RoomRegistryDeps extends Omit<RoomActorDeps, 'onLost'> {
  /** Told (without waiting) whenever a room finished loading here, e.g. to mark its assignment as followed. */
  onLoaded?: (roomId: string) => void;
  /** Told of every load's outcome and duration in ms, e.g. metrics. Must be cheap and not throw. */
  onLoadSettled?: (outcome: RoomLoadOutcome, durationMs: number) => void;
}

/**
 * The rooms this gateway holds, loaded on first use. Concurrent loads of one room share one
 * lease-and-replay, so a burst of connections does not raise the epoch several times. A room
 * being unloaded is loaded again only once the unload finished, so its final snapshot and
 * release never overlap a new lease.
 */
export class RoomRegistry {
  private readonly logger = new Logger(RoomRegistry.name);
  private readonly rooms = new Map<string, RoomActor>();
  private readonly loading = new Map<string, Promise<RoomActor | null>>();
  private readonly unloading = new Map<string, Promise<RetireOutcome>>();

  constructor(private readonly deps: RoomRegistryDeps) {}

  get(roomId: string): RoomActor | undefined {
    return this.rooms.get(roomId);
  }

  get size(): number {
    return this.rooms.size;
  }

  get isLoading(): boolean {
    return this.loading.size > 0;
  }

  /** Whether the room is loaded, loading or unloading here. */
  holds(roomId: string): boolean {
    return this.rooms.has(roomId) || this.loading.has(roomId) || this.unloading.has(roomId);
  }

  all(): RoomActor[] {
    return [...this.rooms.values()];
  }

  /**
   * The loaded room, or loads it (taking its lease). Null when the room does not exist. While
   * the room is being unloaded it waits: if the room stayed (the unload saw it in use), that is
   * the answer; if it went, its ownership was released too, so the caller is told `room_moved`
   * and goes back to the API rather than loading the room here behind the scheduler's back.
   */
  getOrLoad(roomId: string): Promise<RoomActor | null> {
    const unloading = this.unloading.get(roomId);
    if (unloading) {
      return unloading.then((outcome) => {
        if (outcome === 'busy') return this.getOrLoad(roomId);
        throw new DomainError('room_moved', 'the room was unloaded while idle; reconnect through the API');
      });
    }
    const loaded = this.rooms.get(roomId);
    if (loaded && !loaded.isLost) return Promise.resolve(loaded);
    const inFlight = this.loading.get(roomId);
    if (inFlight) return inFlight;
    const load = this.load(roomId).finally(() => this.loading.delete(roomId));
    this.loading.set(roomId, load);
    return load;
  }

  /**
   * Retires the room (final snapshot, `beforeRelease`, `room:moved` with `options.reason`) and
   * forgets it. A load of the same room waits for this to finish.
   */
  unload(actor: RoomActor, beforeRelease: () => Promise<void>, options: RetireOptions): Promise<RetireOutcome> {
    const running = this.unloading.get(actor.roomId);
    if (running) return running;
    const unload = actor.retire(beforeRelease, options).finally(() => this.unloading.delete(actor.roomId));
    this.unloading.set(actor.roomId, unload);
    return unload;
  }

  private async load(roomId: string): Promise<RoomActor | null> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let actor: RoomActor | null;
    try {
      actor = await Actor.load(roomId, { ...this.deps, onLost: (lost) => this.forget(lost) });
    } catch (err) {
      this.deps.onLoadSettled?.('failed', performance.now() - started);
      this.logger.warn({ msg: `room ${roomId} failed to load`, roomId, durationMs: elapsed(), err });
      throw err;
    }
    this.deps.onLoadSettled?.(actor ? 'loaded' : 'not_found', performance.now() - started);
    if (!actor) return null;
    this.rooms.set(roomId, actor);
    this.deps.onLoaded?.(roomId);
    const r = actor.loadReport!;
    this.logger.log({
      msg:
        `room ${roomId} loaded in ${elapsed()} ms: epoch ${r.epoch}, head ${r.headSeq}, ` +
        `${r.snapshotSeq === null ? 'no snapshot' : `snapshot at ${r.snapshotSeq}`}, ${r.replayedEvents} event(s) replayed`,
      roomId,
      durationMs: elapsed(),
      ...r,
    });
    return actor;
  }

  private forget(actor: RoomActor): void {
    if (this.rooms.get(actor.roomId) === actor) this.rooms.delete(actor.roomId);
  }
}
