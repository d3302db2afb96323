/**
 * The exports started in this view (DOM contract "Admin": <ul id="exports">): each one's
 * status, events and bytes, polled every 1 s (`GET /admin/exports/:id`) until done or failed;
 * once done, its file is fetched with the token and offered as an <a class="download" download>
 * link to a Blob object URL, revoked when the view unmounts.
 */
import { seg, type ExportInfo } from '../api';
import { formatTime, h } from '../dom';
import { fetchExportFile } from './export-download';
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
  const objectUrls: string[] = [];
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

  /** Fetches the file of a done export and puts its download link in place. */
  async function offerDownload(tracked: TrackedExport): Promise<void> {
    const els = items.get(tracked.info.id)!;
    const { id, roomId } = tracked.info;
    els.download.replaceChildren(h('span', { class: 'hint' }, 'Preparing the download…'));
    try {
      const blob = await fetchExportFile(id, ctx.session.token, downloads.signal);
      if (stopped) return;
      const url = URL.createObjectURL(blob);
      objectUrls.push(url);
      const name = downloadFileName(roomId, id);
      els.download.replaceChildren(h('a', { class: 'download', href: url, download: name }, `Download ${name}`));
    } catch (err) {
      if (stopped) return;
      ctx.showError(err);
      const retry = h('button', { type: 'button', class: 'secondary retry-download' }, 'Retry download');
      retry.addEventListener('click', () => void offerDownload(tracked));
      els.download.replaceChildren(retry);
    }
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
            if (info.status === 'done') void offerDownload(changed);
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
      for (const url of objectUrls) URL.revokeObjectURL(url);
      objectUrls.length = 0;
    },
  };
}
