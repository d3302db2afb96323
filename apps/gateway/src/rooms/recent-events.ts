import type { EventEnvelope } from '../../../../libs/domain/src';

/** Most committed envelopes the ring keeps, whatever their size. */
export const RECENT_MAX_EVENTS = 512;
/** Most bytes (estimated) the ring keeps: 512 messages of 4000 characters would be ~4 MB a room. */
export const RECENT_MAX_BYTES = 256 * 1024;

/** Fixed overhead of an envelope in memory (object, ids, ts, type), bytes, a rough upper estimate. */
const ENVELOPE_OVERHEAD_BYTES = 300;

/**
 * A cheap upper estimate of an envelope's heap size: strings are counted at two bytes a
 * character, the fixed fields at a flat overhead. It runs on every commit, so it serialises
 * nothing.
 */
export function estimateEnvelopeBytes(envelope: EventEnvelope): number {
  const text = (envelope.data as { text?: unknown } | null)?.text;
  return ENVELOPE_OVERHEAD_BYTES + (typeof text === 'string' ? text.length * 2 : 0) + (envelope.clientMsgId?.length ?? 0) * 2;
}

/**
 * The room's most recent committed envelopes, oldest first, bounded both in count and in bytes,
 * so a room of long messages costs no more memory than a room of short ones. Joins are served
 * from it when it holds the page they ask for (a reconnect after a blip asks for a few recent
 * events), and otherwise use it to bridge the history they read from the log and the live
 * events that followed.
 */
export class RecentEvents {
  private readonly items: EventEnvelope[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(
    private readonly maxEvents = RECENT_MAX_EVENTS,
    private readonly maxBytes = RECENT_MAX_BYTES,
  ) {}

  push(envelope: EventEnvelope): void {
    const size = estimateEnvelopeBytes(envelope);
    this.items.push(envelope);
    this.sizes.push(size);
    this.bytes += size;
    // The newest event always stays, however large: a join must be able to bridge to it.
    while (this.items.length > 1 && (this.items.length > this.maxEvents || this.bytes > this.maxBytes)) {
      this.items.shift();
      this.bytes -= this.sizes.shift()!;
    }
  }

  /** Seq of the oldest envelope held, or undefined when empty. */
  get oldestSeq(): number | undefined {
    return this.items[0]?.seq;
  }

  get size(): number {
    return this.items.length;
  }

  get estimatedBytes(): number {
    return this.bytes;
  }

  /** The envelope at `seq`, if the ring holds it (binary search: the ring is in seq order). */
  at(seq: number): EventEnvelope | undefined {
    let low = 0;
    let high = this.items.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const found = this.items[mid]!;
      if (found.seq === seq) return found;
      if (found.seq < seq) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  }

  /**
   * The envelopes with `from` < seq <= `to`, ascending, when the ring holds every one of them;
   * undefined when it does not (the caller reads the log instead). Nothing is needed when
   * `to` <= `from`, so that is `[]` whatever the ring holds.
   */
  between(from: number, to: number): EventEnvelope[] | undefined {
    if (to <= from) return [];
    const oldest = this.items[0]?.seq;
    if (oldest === undefined || from + 1 < oldest) return undefined;
    // Commits and replays push every seq in order, so the ring is contiguous and seq maps to an
    // index; should it ever not be, the two checks send the join to the log rather than answer
    // with the wrong envelopes.
    const start = from + 1 - oldest;
    const end = to - oldest;
    if (end >= this.items.length || this.items[start]!.seq !== from + 1 || this.items[end]!.seq !== to) return undefined;
    return this.items.slice(start, end + 1);
  }

  /** Envelopes with seq > `seq`, ascending. */
  after(seq: number): EventEnvelope[] {
    const out: EventEnvelope[] = [];
    for (const envelope of this.items) if (envelope.seq > seq) out.push(envelope);
    return out;
  }
}
