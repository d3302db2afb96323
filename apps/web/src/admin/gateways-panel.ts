/**
 * The gateways table (DOM contract "Admin": <table id="gateways">): `GET /admin/gateways`
 * every 2 s while shown, and per active gateway a drain button with a confirm step made of
 * ordinary buttons (keyboard: Enter/Space; Escape cancels). Rows are keyed by gateway id and
 * updated in place, so a refresh never steals the focus from a button being used.
 */
import { seg, type GatewayInfo } from '../api';
import { formatTime, h } from '../dom';
import { GatewayDirectory, type GatewayRow } from './gateway-model';
import type { Panel, PanelContext } from './panel';
import { Poller } from './poller';

const REFRESH_MS = 2_000;
const COLUMNS = 7;

interface RowElements {
  tr: HTMLTableRowElement;
  url: HTMLElement;
  status: HTMLElement;
  rooms: HTMLElement;
  connections: HTMLElement;
  lastSeen: HTMLTimeElement;
  age: HTMLElement;
  drain: HTMLButtonElement;
  confirm: HTMLButtonElement;
  cancel: HTMLButtonElement;
}

export function gatewaysPanel({ ctx, announce }: PanelContext): Panel {
  const directory = new GatewayDirectory();
  const rows = new Map<string, RowElements>();
  let stopped = false;
  /** Shows a failing refresh once, not every 2 s, until a refresh succeeds again. */
  let refreshFailing = false;

  const heading = h('h3', { id: 'gateways-title', tabindex: -1 }, 'Gateways');
  const tbody = h('tbody');
  const empty = h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS }, 'Loading the gateway directory…'));
  tbody.append(empty);
  const table = h(
    'table',
    { id: 'gateways', 'aria-labelledby': 'gateways-title', 'aria-describedby': 'gateways-hint' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['Gateway', 'URL', 'Status', 'Rooms', 'Connections', 'Last seen', 'Action'].map((label) =>
          h('th', { scope: 'col', class: label === 'Rooms' || label === 'Connections' ? 'num' : null }, label),
        ),
      ),
    ),
    tbody,
  );
  const element = h(
    'div',
    { class: 'admin-block' },
    heading,
    h('p', { class: 'hint', id: 'gateways-hint' }, 'Refreshed every 2 s. Draining hands every room of a gateway to the others; it then stops taking rooms.'),
    h('div', { class: 'table-scroll' }, table),
  );

  function makeRow(id: string): RowElements {
    const drain = h('button', { type: 'button', class: 'drain secondary', 'aria-label': `Drain ${id}` }, 'Drain');
    const confirm = h('button', { type: 'button', class: 'drain-confirm danger', 'aria-label': `Confirm drain of ${id}`, hidden: true }, 'Confirm drain');
    const cancel = h('button', { type: 'button', class: 'drain-cancel secondary', 'aria-label': `Cancel drain of ${id}`, hidden: true }, 'Cancel');
    const els: RowElements = {
      tr: h('tr', { 'data-gateway-id': id }),
      url: h('td', { class: 'url' }),
      status: h('span', { class: 'status' }),
      rooms: h('td', { class: 'rooms num' }),
      connections: h('td', { class: 'connections num' }),
      lastSeen: h('time'),
      age: h('span', { class: 'age' }),
      drain,
      confirm,
      cancel,
    };
    els.tr.append(
      h('td', { class: 'id' }, h('code', {}, id)),
      els.url,
      h('td', {}, els.status),
      els.rooms,
      els.connections,
      h('td', { class: 'last-seen' }, els.lastSeen, ' ', els.age),
      h('td', { class: 'actions' }, h('div', { class: 'buttons' }, drain, confirm, cancel)),
    );
    drain.addEventListener('click', () => {
      directory.askDrain(id);
      render();
      if (directory.stepOf(id) === 'confirming') confirm.focus();
    });
    cancel.addEventListener('click', () => cancelDrain(id));
    confirm.addEventListener('click', () => void confirmDrain(id));
    for (const button of [confirm, cancel]) {
      button.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') {
          event.preventDefault();
          cancelDrain(id);
        }
      });
    }
    return els;
  }

  function cancelDrain(id: string): void {
    directory.cancelDrain(id);
    render();
    rows.get(id)?.drain.focus();
  }

  async function confirmDrain(id: string): Promise<void> {
    if (!directory.confirmDrain(id)) return;
    render();
    try {
      const { gateway } = await ctx.api.post<{ gateway: GatewayInfo }>(`/admin/gateways/${seg(id)}/drain`);
      if (stopped) return;
      directory.drainAnswered(gateway);
      announce(`Gateway ${id} is ${gateway.status}: its rooms move to the other gateways.`);
    } catch (err) {
      if (stopped) return;
      directory.drainFailed(id);
      ctx.showError(err);
    }
    render();
    // The confirm pair is gone and the drain button is disabled now: keep the focus in the panel.
    heading.focus();
  }

  function updateRow(els: RowElements, row: GatewayRow): void {
    els.url.textContent = row.url;
    els.status.textContent = row.status;
    els.status.className = `status status-${row.status}`;
    els.rooms.textContent = row.rooms;
    els.connections.textContent = row.connections;
    els.lastSeen.dateTime = row.lastSeenAt;
    els.lastSeen.textContent = formatTime(row.lastSeenAt);
    els.age.textContent = row.lastSeenAge ? `(${row.lastSeenAge})` : '';
    const confirming = row.drainStep !== 'idle';
    els.drain.hidden = confirming;
    els.drain.disabled = !row.canDrain;
    els.confirm.hidden = !confirming;
    els.cancel.hidden = !confirming;
    els.confirm.disabled = row.drainStep === 'requesting';
    els.cancel.disabled = row.drainStep === 'requesting';
    els.confirm.textContent = row.drainStep === 'requesting' ? 'Draining…' : 'Confirm drain';
  }

  function render(): void {
    const current = directory.rows(Date.now());
    const ids = new Set(current.map((r) => r.id));
    for (const [id, els] of rows) {
      if (!ids.has(id)) {
        els.tr.remove();
        rows.delete(id);
      }
    }
    const ordered: HTMLTableRowElement[] = [];
    for (const row of current) {
      let els = rows.get(row.id);
      if (!els) {
        els = makeRow(row.id);
        rows.set(row.id, els);
      }
      updateRow(els, row);
      ordered.push(els.tr);
    }
    empty.hidden = current.length > 0;
    empty.firstElementChild!.textContent = 'No gateway has registered yet.';
    // Re-append only when the order changed: moving a row would blur a focused button in it.
    const inPlace = [...tbody.rows].filter((tr) => tr !== empty);
    if (inPlace.length !== ordered.length || inPlace.some((tr, i) => tr !== ordered[i])) tbody.append(...ordered);
  }

  async function refresh(): Promise<void> {
    const ticket = directory.beginRefresh();
    try {
      const { gateways } = await ctx.api.get<{ gateways: GatewayInfo[] }>('/admin/gateways');
      if (stopped) return;
      refreshFailing = false;
      if (directory.applyListing(ticket, gateways)) render();
    } catch (err) {
      if (stopped || refreshFailing) return;
      refreshFailing = true;
      ctx.showError(err);
    }
  }

  const poller = new Poller(refresh, REFRESH_MS);
  poller.start();

  return {
    element,
    unmount() {
      stopped = true;
      poller.stop();
    },
  };
}
