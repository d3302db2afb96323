/**
 * The room lookup as data: the id typed or pasted, and the texts of `GET /admin/rooms/:roomId`.
 * Pure (no DOM), unit-tested in room-model.spec.ts; the DOM side is room-panel.ts.
 */
import type { AdminRoom } from '../api';
import { formatBytes, formatCount } from './format';

/**
 * The room id in what the operator typed: a bare id, or a room's shareable link
 * (`https://host/r/<id>`, also `/r/<id>`) pasted from the chat. Null when empty.
 */
export function roomIdFromInput(text: string): string | null {
  const value = text.trim();
  if (!value) return null;
  const link = /(?:^|\/)r\/([^/?#\s]+)\/?(?:[?#].*)?$/.exec(value);
  if (link) {
    try {
      return decodeURIComponent(link[1]!);
    } catch {
      return link[1]!;
    }
  }
  return value;
}

export interface RoomSummary {
  id: string;
  name: string;
  headSeq: string;
  /** `gw-2, epoch 3`, or `not loaded` when no gateway holds the room. */
  owner: string;
  /** `seq 1,000 · <time> · 12 KiB`, or `none` when the room never had a snapshot. */
  snapshot: string;
}

/** `formatTime` is passed in (it depends on the browser's locale and today's date). */
export function roomSummary(view: AdminRoom, formatTime: (iso: string) => string): RoomSummary {
  return {
    id: view.room.id,
    name: view.room.name,
    headSeq: formatCount(view.headSeq),
    owner: view.owner ? `${view.owner.gatewayId}, epoch ${view.owner.epoch}` : 'not loaded',
    snapshot: view.snapshot
      ? `seq ${formatCount(view.snapshot.seq)} · ${formatTime(view.snapshot.createdAt)} · ${formatBytes(view.snapshot.bytes)}`
      : 'none',
  };
}
