/**
 * The admin view, `/admin` (role `admin` only; the shell refuses it to others). DOM contract
 * "Admin": the gateways table with drain, the room lookup (owner, epoch, snapshot) and room log
 * exports with their downloads. Each block is a panel of its own; this file only lays them out
 * and releases them (timers, in-flight downloads, object URLs of downloads just started) in
 * unmount().
 */
import type { AppContext, View } from '../app-context';
import { h } from '../dom';
import { exportsPanel } from './exports-panel';
import { gatewaysPanel } from './gateways-panel';
import type { PanelContext } from './panel';
import { roomPanel } from './room-panel';

export function mountAdminView(root: HTMLElement, ctx: AppContext): View {
  // One polite live region for the whole view: drain accepted, export started/done.
  const status = h('p', { id: 'admin-status', class: 'hint', role: 'status' });
  const panelContext: PanelContext = {
    ctx,
    announce(message: string) {
      status.textContent = message;
    },
  };

  const gateways = gatewaysPanel(panelContext);
  const exports = exportsPanel(panelContext);
  const room = roomPanel(panelContext, { onExport: (roomId, roomName) => exports.start(roomId, roomName) });

  const section = h(
    'section',
    { id: 'admin-view', 'aria-labelledby': 'admin-title' },
    h('h2', { id: 'admin-title' }, 'Admin'),
    status,
    gateways.element,
    h('div', { class: 'admin-columns' }, room.element, exports.element),
  );
  root.replaceChildren(section);

  return {
    unmount() {
      gateways.unmount();
      room.unmount();
      exports.unmount();
      section.remove();
    },
  };
}
