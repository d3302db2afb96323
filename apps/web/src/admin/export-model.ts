/**
 * The exports started in this view as data: their progress texts, which still need polling and
 * the name of the downloaded file. Pure (no DOM), unit-tested in export-model.spec.ts; the DOM
 * side is exports-panel.ts.
 */
import type { ExportInfo, ExportStatus } from '../api';
import { formatBytes, formatCount } from './format';

export function isFinished(status: ExportStatus): boolean {
  return status === 'done' || status === 'failed';
}

/** `1,234 events` (the count is 0 until the worker reports progress). */
export function eventsText(info: ExportInfo): string {
  const n = info.events ?? 0;
  return `${formatCount(n)} ${n === 1 ? 'event' : 'events'}`;
}

export function bytesText(info: ExportInfo): string {
  return formatBytes(info.bytes ?? 0);
}

/** One line for screen readers and the eye: `running: 1,200 events, 96 KiB so far`. */
export function exportProgressText(info: ExportInfo): string {
  switch (info.status) {
    case 'queued':
      return 'queued: waiting for a worker';
    case 'running':
      return `running: ${eventsText(info)}, ${bytesText(info)} so far`;
    case 'done':
      return `done: ${eventsText(info)}, ${bytesText(info)}`;
    case 'failed':
      return 'failed: see the worker logs, then start it again';
  }
}

/** `room-<roomId>-<exportId>.ndjson.gz`, with anything unsafe in a file name replaced. */
export function downloadFileName(roomId: string, exportId: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `room-${safe(roomId)}-${safe(exportId)}.ndjson.gz`;
}

/** An export as this view tracks it: the API's record plus the room name it was started for. */
export interface TrackedExport {
  info: ExportInfo;
  roomName: string;
}

/** The exports started in this view, newest first. */
export class ExportList {
  private readonly items: TrackedExport[] = [];

  get all(): readonly TrackedExport[] {
    return this.items;
  }

  /** Adds an export just started (the `202` answer); a known id is updated instead. */
  add(info: ExportInfo, roomName: string): TrackedExport {
    const known = this.items.find((e) => e.info.id === info.id);
    if (known) {
      known.info = { ...known.info, ...info };
      return known;
    }
    const tracked = { info, roomName };
    this.items.unshift(tracked);
    return tracked;
  }

  /**
   * A polled state (`GET /admin/exports/:id`). A finished export never goes back to running (a
   * late answer of an earlier poll must not undo `done`). Returns the export when it changed.
   */
  update(info: ExportInfo): TrackedExport | null {
    const known = this.items.find((e) => e.info.id === info.id);
    if (!known) return null;
    if (isFinished(known.info.status)) return null;
    const before = JSON.stringify(known.info);
    known.info = { ...known.info, ...info };
    return JSON.stringify(known.info) === before ? null : known;
  }

  /** Ids still to poll (queued or running). */
  pending(): string[] {
    return this.items.filter((e) => !isFinished(e.info.status)).map((e) => e.info.id);
  }
}
