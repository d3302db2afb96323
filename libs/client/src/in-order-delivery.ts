/**
 * Exactly-once, in-seq-order delivery of a room's events to the application, whatever order and
 * however many times they arrive (live events, a rejoin's backlog, HTTP pages, overlaps of all
 * three across moves).
 *
 * Memory is bounded by construction: what was delivered is remembered as one number (the
 * watermark `lastSeq`, since delivery is gap-free every seq at or below it was delivered), and
 * events that arrived ahead of a gap wait in a buffer of at most `maxBuffered` entries. When the
 * buffer is full the furthest-ahead event is dropped: it is not lost, the gap fill (HTTP history
 * after `lastSeq`) fetches it again.
 */
export interface Sequenced {
  seq: number;
}

export interface AcceptResult<E extends Sequenced> {
  /** Events now deliverable, ascending and contiguous (`lastSeq` moved past them). */
  deliver: E[];
  /** Arrivals at or below the watermark, or already buffered: ignored. */
  duplicates: number;
  /** Arrivals dropped because the buffer was full (they must be fetched again). */
  dropped: number;
}

export class InOrderDelivery<E extends Sequenced> {
  private watermark: number;
  private readonly ahead = new Map<number, E>();
  private highestSeen: number;

  /**
   * @param startAfter deliver from `startAfter + 1` on (0: from the room's first event).
   * @param maxBuffered events held ahead of a gap at most (default 2000).
   */
  constructor(
    startAfter = 0,
    readonly maxBuffered = 2_000,
  ) {
    if (!Number.isInteger(startAfter) || startAfter < 0) throw new RangeError(`startAfter must be a seq >= 0, got ${startAfter}`);
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1) throw new RangeError(`maxBuffered must be >= 1, got ${maxBuffered}`);
    this.watermark = startAfter;
    this.highestSeen = startAfter;
  }

  /** Every event up to this seq was delivered, each once. Rejoin with `afterSeq = lastSeq`. */
  get lastSeq(): number {
    return this.watermark;
  }

  /** Events held ahead of a gap. */
  get buffered(): number {
    return this.ahead.size;
  }

  /**
   * The missing range `[from, to]` when events are waiting behind a gap (or were dropped beyond
   * it), else `undefined`. `to` is the highest seq known to exist.
   */
  get gap(): { from: number; to: number } | undefined {
    if (this.highestSeen <= this.watermark) return undefined;
    return { from: this.watermark + 1, to: this.highestSeen };
  }

  /**
   * Moves the start point forward without delivering (a join without `afterSeq` starts at the
   * latest page). Never moves it back.
   */
  skipTo(seq: number): void {
    if (seq <= this.watermark) return;
    this.watermark = seq;
    this.highestSeen = Math.max(this.highestSeen, seq);
    for (const held of [...this.ahead.keys()]) if (held <= seq) this.ahead.delete(held);
  }

  /** Records that events up to `seq` exist (e.g. a join ack's `headSeq`), so `gap` reports them. */
  noteHead(seq: number): void {
    if (seq > this.highestSeen) this.highestSeen = seq;
  }

  accept(events: Iterable<E>): AcceptResult<E> {
    const result: AcceptResult<E> = { deliver: [], duplicates: 0, dropped: 0 };
    for (const event of events) {
      const seq = event.seq;
      if (!Number.isInteger(seq) || seq <= this.watermark || this.ahead.has(seq)) {
        result.duplicates += 1;
        continue;
      }
      if (seq > this.highestSeen) this.highestSeen = seq;
      if (seq === this.watermark + 1) {
        result.deliver.push(event);
        this.watermark = seq;
        this.drainContiguous(result.deliver);
        continue;
      }
      if (this.ahead.size >= this.maxBuffered) {
        // Keep the events closest to the watermark: they unblock delivery first.
        const furthest = Math.max(...this.ahead.keys());
        if (seq > furthest) {
          result.dropped += 1;
          continue;
        }
        this.ahead.delete(furthest);
        result.dropped += 1;
      }
      this.ahead.set(seq, event);
    }
    return result;
  }

  private drainContiguous(into: E[]): void {
    for (;;) {
      const next = this.ahead.get(this.watermark + 1);
      if (!next) return;
      this.ahead.delete(this.watermark + 1);
      into.push(next);
      this.watermark += 1;
    }
  }
}
