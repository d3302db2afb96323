/**
 * The gateways table as data: what each row shows and where its drain button is in the
 * two-step confirm. Pure (no DOM, no timers), unit-tested in gateway-model.spec.ts; the DOM side
 * is gateways-panel.ts.
 */
import type { GatewayInfo, GatewayStatus } from '../api';
import { formatAge, formatCount } from './format';

/**
 * Where a gateway's drain control is: the plain "Drain" button, the "Confirm drain"/"Cancel"
 * pair, or the request on its way to the API.
 */
export type DrainStep = 'idle' | 'confirming' | 'requesting';

export interface GatewayRow {
  id: string;
  url: string;
  status: GatewayStatus;
  rooms: string;
  connections: string;
  lastSeenAt: string;
  /** `12 s ago`; the time itself is formatted by the view (formatTime needs the locale). */
  lastSeenAge: string;
  drainStep: DrainStep;
  /** The drain button is enabled only for an active gateway that is not already being asked. */
  canDrain: boolean;
}

/** Rows in a stable order (by id), so that refreshes never reshuffle the table under the pointer. */
export function gatewayRows(gateways: readonly GatewayInfo[], steps: ReadonlyMap<string, DrainStep>, now: number): GatewayRow[] {
  return [...gateways]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((gw) => {
      const drainStep = gw.status === 'active' ? (steps.get(gw.id) ?? 'idle') : 'idle';
      return {
        id: gw.id,
        // A gone gateway has no registration left, so the directory no longer knows its URL.
        url: gw.url || '–',
        status: gw.status,
        rooms: formatCount(gw.rooms),
        connections: formatCount(gw.connections),
        lastSeenAt: gw.lastSeenAt,
        lastSeenAge: formatAge(gw.lastSeenAt, now),
        drainStep,
        canDrain: gw.status === 'active' && drainStep === 'idle',
      };
    });
}

/**
 * The gateway list the view shows, guarded against a race between the 2 s refresh and a drain:
 * a listing that was asked for before a drain's answer arrived may still say `active` and must
 * not overwrite the `draining` the drain answered with. Each refresh takes a ticket; a drain's
 * answer voids every ticket handed out before it.
 */
export class GatewayDirectory {
  private list: GatewayInfo[] = [];
  private generation = 0;
  private readonly steps = new Map<string, DrainStep>();

  get gateways(): readonly GatewayInfo[] {
    return this.list;
  }

  /** A ticket for one `GET /admin/gateways`; pass it back with the answer. */
  beginRefresh(): number {
    return this.generation;
  }

  /** Applies a listing unless a drain answered after it was asked for; true when applied. */
  applyListing(ticket: number, gateways: readonly GatewayInfo[]): boolean {
    if (ticket !== this.generation) return false;
    this.list = [...gateways];
    // A confirm step only makes sense while the gateway is still active.
    for (const [id, step] of this.steps) {
      const gw = this.list.find((g) => g.id === id);
      if (!gw || (gw.status !== 'active' && step !== 'requesting')) this.steps.delete(id);
    }
    return true;
  }

  /** "Drain" pressed: show the confirm pair (only for an active gateway). */
  askDrain(id: string): void {
    if (this.list.find((g) => g.id === id)?.status === 'active' && this.stepOf(id) === 'idle') this.steps.set(id, 'confirming');
  }

  cancelDrain(id: string): void {
    if (this.stepOf(id) === 'confirming') this.steps.delete(id);
  }

  /** "Confirm drain" pressed: true when the request should now be sent (once). */
  confirmDrain(id: string): boolean {
    if (this.stepOf(id) !== 'confirming') return false;
    this.steps.set(id, 'requesting');
    return true;
  }

  /** The drain's answer (`202 {gateway}`): the row shows it at once and older listings are void. */
  drainAnswered(gateway: GatewayInfo): void {
    this.generation += 1;
    this.steps.delete(gateway.id);
    const at = this.list.findIndex((g) => g.id === gateway.id);
    if (at >= 0) this.list[at] = { ...this.list[at]!, ...gateway };
    else this.list.push(gateway);
  }

  /** The drain request failed: back to the plain button (the error is shown by the view). */
  drainFailed(id: string): void {
    this.steps.delete(id);
  }

  stepOf(id: string): DrainStep {
    return this.steps.get(id) ?? 'idle';
  }

  rows(now: number): GatewayRow[] {
    return gatewayRows(this.list, this.steps, now);
  }
}
