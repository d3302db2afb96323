/**
 * The exports started in this view (DOM contract "Admin": <ul id="exports">): each one's
 * status, events and bytes, polled every 1 s (`GET /admin/exports/:id`) until done or failed;
 * once done, a <button class="download"> whose click fetches the file with the token and hands it
 * to the browser's download (export-download.ts). Nothing is fetched before the click and no
 * file is kept after it; a failed download is shown and clicking again retries it.
 */
import { seg, type ExportInfo } from '../api';
import { formatTime, h } from '../dom';
import { fetchExportFile, saveFile } from './export-download';
import { bytesText, downloadFileName, eventsText, ExportList, exportProgressText, isFinished, type TrackedExport } from './export-model';
import type { Panel, PanelContext } from './panel';
import { Poller } from './poller';

const POLL_MS = 1_000;

export interface ExportsPanel extends Panel {
  /** `POST /admin/rooms/:roomId/exports {format: "ndjson"}`, then follows it in the list. */
  start(roomId: string, roomName: string): Promise<void>;
}

interface ItemElements {
  li: HTMLLIElement;
  status: HTMLElement;
  events: HTMLElement;
  bytes: HTMLElement;
  times: HTMLElement;
  progress: HTMLElement;
  download: HTMLElement;
}

export function exportsPanel({ ctx, announce }: PanelContext): ExportsPanel {
  const list = new ExportList();
  const items = new Map<string, ItemElements>();
  /** Revokers of object URLs whose download started less than REVOKE_AFTER_MS ago. */
  const pendingRevokes = new Set<() => void>();
  const downloads = new AbortController();
  let stopped = false;
  /** Shows a failing poll once, not every second, until a poll succeeds again. */
  let pollFailing = false;

  const ul = h('ul', { id: 'exports', 'aria-labelledby': 'exports-title' });
  const empty = h('p', { class: 'hint' }, 'No export started yet: look a room up and press "Export log".');
  const element = h('div', { class: 'admin-block' }, h('h3', { id: 'exports-title' }, 'Exports'), empty, ul);

  function makeItem(tracked: TrackedExport): ItemElements {
    const { id, roomId } = tracked.info;
    const els: ItemElements = {
      li: h('li', { 'data-export-id': id }),
      status: h('span', { class: 'status' }),
      events: h('span', { class: 'events' }),
      bytes: h('span', { class: 'bytes' }),
      times: h('span', { class: 'times' }),
      progress: h('span', { class: 'sr-only' }),
      download: h('div', { class: 'download-slot' }),
    };
    els.li.append(
      h('div', { class: 'export-head' }, h('strong', { class: 'room-name' }, tracked.roomName), ' ', h('code', { class: 'room-id' }, roomId), h('span', { class: 'export-id' }, `export ${id}`)),
      h('div', { class: 'export-progress' }, els.status, els.events, els.bytes, els.times, els.progress),
      els.download,
    );
    return els;
  }

  function update(tracked: TrackedExport): void {
    let els = items.get(tracked.info.id);
    if (!els) {
      els = makeItem(tracked);
      items.set(tracked.info.id, els);
      ul.prepend(els.li);
    }
    const { info } = tracked;
    els.status.textContent = info.status;
    els.status.className = `status status-${info.status}`;
    els.events.textContent = eventsText(info);
    els.bytes.textContent = bytesText(info);
    const started = info.createdAt ? `started ${formatTime(info.createdAt)}` : '';
    const finished = info.finishedAt ? `, finished ${formatTime(info.finishedAt)}` : '';
    els.times.textContent = started + finished;
    els.progress.textContent = exportProgressText(info);
    empty.hidden = true;
  }

  /** Puts the download button of a done export in place; the file is fetched on its click. */
  function offerDownload(tracked: TrackedExport): void {
    const els = items.get(tracked.info.id)!;
    const { id, roomId } = tracked.info;
    const name = downloadFileName(roomId, id);
    const button = h('button', { type: 'button', class: 'download' }, `Download ${name}`);
    const state = h('span', { class: 'download-state hint', role: 'status' });
    let busy = false;
    button.addEventListener('click', async () => {
      if (busy) return; // one download at a time per export; the button keeps its focus
      busy = true;
      button.setAttribute('aria-disabled', 'true');
      state.textContent = 'Downloading…';
      try {
        const blob = await fetchExportFile(id, ctx.session.token, downloads.signal);
        if (stopped) return;
        const revoke = saveFile(blob, name, () => pendingRevokes.delete(revoke));
        pendingRevokes.add(revoke);
        state.textContent = 'Download started';
      } catch (err) {
        if (stopped) return;
        state.textContent = 'Download failed: press the button to try again';
        ctx.showError(err);
      } finally {
        busy = false;
        button.removeAttribute('aria-disabled');
      }
    });
    els.download.replaceChildren(button, ' ', state);
  }

  async function poll(): Promise<void> {
    const pending = list.pending();
    if (pending.length === 0) {
      poller.stop();
      return;
    }
    await Promise.all(
      pending.map(async (id) => {
        try {
          const { export: info } = await ctx.api.get<{ export: ExportInfo }>(`/admin/exports/${seg(id)}`);
          if (stopped) return;
          pollFailing = false;
          const changed = list.update(info);
          if (!changed) return;
          update(changed);
          if (isFinished(info.status)) {
            announce(`Export of room ${changed.roomName} ${exportProgressText(info)}`);
            if (info.status === 'done') offerDownload(changed);
          }
        } catch (err) {
          if (stopped || pollFailing) return;
          pollFailing = true;
          ctx.showError(err);
        }
      }),
    );
    if (list.pending().length === 0) poller.stop();
  }

  const poller = new Poller(poll, POLL_MS);

  async function start(roomId: string, roomName: string): Promise<void> {
    const { export: info } = await ctx.api.post<{ export: ExportInfo }>(`/admin/rooms/${seg(roomId)}/exports`, { format: 'ndjson' });
    if (stopped) return;
    update(list.add(info, roomName));
    announce(`Export of room ${roomName} ${exportProgressText(info)}`);
    poller.start();
  }

  return {
    element,
    start,
    unmount() {
      stopped = true;
      poller.stop();
      downloads.abort();
      for (const revoke of [...pendingRevokes]) revoke();
    },
  };
}
