/**
 * The room lookup (DOM contract "Admin": #admin-room-form → #admin-room): where a room lives
 * (owner gateway and epoch) and how far its last snapshot is, from `GET /admin/rooms/:roomId`,
 * and the button that starts an export of it. Looking the same room up again refreshes it.
 */
import { ApiError, seg, type AdminRoom } from '../api';
import { formatTime, h } from '../dom';
import type { Panel, PanelContext } from './panel';
import { roomIdFromInput, roomSummary } from './room-model';

export interface RoomPanelOptions {
  /** "Export log" pressed for the room shown; resolves once the export was requested. */
  onExport(roomId: string, roomName: string): Promise<void>;
}

export function roomPanel({ ctx }: PanelContext, { onExport }: RoomPanelOptions): Panel {
  let stopped = false;
  /** Only the latest lookup may fill the panel (an earlier one may answer last). */
  let lookupNo = 0;
  let shown: { id: string; name: string } | null = null;

  const input = h('input', { id: 'admin-room-input', name: 'roomId', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'admin-room-hint' });
  const lookup = h('button', { type: 'submit', id: 'admin-room-lookup' }, 'Look up');
  const form = h(
    'form',
    { id: 'admin-room-form', 'aria-labelledby': 'admin-room-title' },
    h('label', { for: 'admin-room-input' }, 'Room id or link', input),
    lookup,
    h('p', { class: 'hint', id: 'admin-room-hint' }, 'A room id, or a room link such as https://…/r/<id>. Look it up again to refresh.'),
  );

  const field = (cls: string) => h('dd', { class: cls });
  const name = field('name');
  const roomId = h('code');
  const headSeq = field('head-seq');
  const owner = field('owner');
  const snapshot = field('snapshot');
  const exportStart = h('button', { type: 'button', id: 'export-start' }, 'Export log (NDJSON, gzip)');
  const details = h(
    'div',
    { id: 'admin-room', hidden: true, 'aria-live': 'polite' },
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Name'),
      name,
      h('dt', {}, 'Room id'),
      h('dd', { class: 'room-id' }, roomId),
      h('dt', {}, 'Head seq'),
      headSeq,
      h('dt', {}, 'Owner'),
      owner,
      h('dt', {}, 'Last snapshot'),
      snapshot,
    ),
    exportStart,
  );

  const element = h('div', { class: 'admin-block' }, h('h3', { id: 'admin-room-title' }, 'Room'), form, details);

  function show(view: AdminRoom): void {
    const summary = roomSummary(view, (iso) => formatTime(iso));
    shown = { id: summary.id, name: summary.name };
    name.textContent = summary.name;
    roomId.textContent = summary.id;
    headSeq.textContent = summary.headSeq;
    owner.textContent = summary.owner;
    owner.classList.toggle('none', view.owner === null);
    snapshot.textContent = summary.snapshot;
    snapshot.classList.toggle('none', view.snapshot === null);
    details.hidden = false;
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void lookUp();
  });

  async function lookUp(): Promise<void> {
    const id = roomIdFromInput(input.value);
    if (!id) {
      ctx.showError(new ApiError(400, 'invalid', 'enter a room id or a room link'));
      input.focus();
      return;
    }
    const mine = ++lookupNo;
    lookup.disabled = true;
    try {
      const view = await ctx.api.get<AdminRoom>(`/admin/rooms/${seg(id)}`);
      if (stopped || mine !== lookupNo) return;
      show(view);
    } catch (err) {
      if (stopped || mine !== lookupNo) return;
      details.hidden = true;
      shown = null;
      ctx.showError(err);
    } finally {
      if (!stopped && mine === lookupNo) lookup.disabled = false;
    }
  }

  exportStart.addEventListener('click', async () => {
    const room = shown;
    if (!room) return;
    exportStart.disabled = true;
    try {
      await onExport(room.id, room.name);
    } catch (err) {
      if (!stopped) ctx.showError(err);
    } finally {
      if (!stopped) exportStart.disabled = false;
    }
  });

  return {
    element,
    unmount() {
      stopped = true;
    },
  };
}
