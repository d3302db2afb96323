import type { GatewayInfo } from '../api';
import { GatewayDirectory, gatewayRows } from './gateway-model';

const NOW = Date.parse('2026-11-27T12:00:10Z');
const gw = (id: string, over: Partial<GatewayInfo> = {}): GatewayInfo => ({
  id,
  url: `http://127.0.0.1:${id.length}000`,
  status: 'active',
  rooms: 0,
  connections: 0,
  lastSeenAt: '2026-11-27T12:00:09Z',
  ...over,
});

describe('gatewayRows', () => {
  it('orders rows by id and formats counts and age', () => {
    const rows = gatewayRows([gw('gw-2', { rooms: 1200, connections: 3 }), gw('gw-1')], new Map(), NOW);
    expect(rows.map((r) => r.id)).toEqual(['gw-1', 'gw-2']);
    expect(rows[1]).toMatchObject({ status: 'active', rooms: '1,200', connections: '3', lastSeenAge: 'just now', canDrain: true, drainStep: 'idle' });
  });

  it('offers drain only on active gateways', () => {
    const rows = gatewayRows([gw('a', { status: 'draining' }), gw('b', { status: 'gone', lastSeenAt: '2026-11-27T11:59:00Z' })], new Map(), NOW);
    expect(rows.map((r) => r.canDrain)).toEqual([false, false]);
    expect(rows[1]!.lastSeenAge).toBe('1 min ago');
  });

  it('shows a dash for the URL a gone gateway no longer publishes', () => {
    expect(gatewayRows([gw('a', { status: 'gone', url: '' })], new Map(), NOW)[0]!.url).toBe('–');
  });

  it('disables drain while its confirm step is open, and ignores a step on a gateway no longer active', () => {
    const steps = new Map([
      ['a', 'confirming' as const],
      ['b', 'confirming' as const],
    ]);
    const rows = gatewayRows([gw('a'), gw('b', { status: 'gone' })], steps, NOW);
    expect(rows.map((r) => [r.drainStep, r.canDrain])).toEqual([
      ['confirming', false],
      ['idle', false],
    ]);
  });
});

describe('GatewayDirectory', () => {
  it('goes Drain → Confirm → request → answered, sending once', () => {
    const dir = new GatewayDirectory();
    dir.applyListing(dir.beginRefresh(), [gw('a'), gw('b')]);
    expect(dir.confirmDrain('a')).toBe(false); // no confirm without the first step
    dir.askDrain('a');
    expect(dir.stepOf('a')).toBe('confirming');
    expect(dir.confirmDrain('a')).toBe(true);
    expect(dir.confirmDrain('a')).toBe(false); // a second press does not send twice
    expect(dir.stepOf('a')).toBe('requesting');
    dir.drainAnswered(gw('a', { status: 'draining' }));
    expect(dir.rows(NOW).map((r) => [r.id, r.status, r.drainStep])).toEqual([
      ['a', 'draining', 'idle'],
      ['b', 'active', 'idle'],
    ]);
  });

  it('cancel returns to the plain button', () => {
    const dir = new GatewayDirectory();
    dir.applyListing(dir.beginRefresh(), [gw('a')]);
    dir.askDrain('a');
    dir.cancelDrain('a');
    expect(dir.stepOf('a')).toBe('idle');
    expect(dir.rows(NOW)[0]!.canDrain).toBe(true);
  });

  it('does not open the confirm step for a gateway that is not active', () => {
    const dir = new GatewayDirectory();
    dir.applyListing(dir.beginRefresh(), [gw('a', { status: 'draining' })]);
    dir.askDrain('a');
    expect(dir.stepOf('a')).toBe('idle');
  });

  it('drops a listing asked for before the drain answered, so the row never flips back to active', () => {
    const dir = new GatewayDirectory();
    dir.applyListing(dir.beginRefresh(), [gw('a')]);
    const staleTicket = dir.beginRefresh(); // a refresh in flight ...
    dir.askDrain('a');
    dir.confirmDrain('a');
    dir.drainAnswered(gw('a', { status: 'draining' })); // ... when the drain answers
    expect(dir.applyListing(staleTicket, [gw('a', { status: 'active' })])).toBe(false);
    expect(dir.gateways[0]!.status).toBe('draining');
    expect(dir.applyListing(dir.beginRefresh(), [gw('a', { status: 'gone' })])).toBe(true);
    expect(dir.gateways[0]!.status).toBe('gone');
  });

  it('closes a confirm step when a refresh shows the gateway is no longer active', () => {
    const dir = new GatewayDirectory();
    dir.applyListing(dir.beginRefresh(), [gw('a')]);
    dir.askDrain('a');
    dir.applyListing(dir.beginRefresh(), [gw('a', { status: 'draining' })]);
    expect(dir.stepOf('a')).toBe('idle');
  });

  it('a failed drain request returns to the plain button', () => {
    const dir = new GatewayDirectory();
    dir.applyListing(dir.beginRefresh(), [gw('a')]);
    dir.askDrain('a');
    dir.confirmDrain('a');
    dir.drainFailed('a');
    expect(dir.rows(NOW)[0]).toMatchObject({ drainStep: 'idle', canDrain: true });
  });
});
