import { createHash } from 'node:crypto';

/** What a scheduler knows of one gateway, from its heartbeat. */
export interface GatewayInfo {
  id: string;
  url: string;
  status: 'active' | 'draining' | 'gone';
  /** Rooms the gateway holds in memory, from its last heartbeat. */
  rooms: number;
  connections: number;
  /** Rooms the scheduler has assigned to it (moves ahead of heartbeats, so runs of new rooms spread). */
  assigned: number;
  /** Rooms it may hold at most (MAX_ROOMS_PER_GATEWAY, from its heartbeat). */
  capacity: number;
  lastSeenAt: string | null;
}

/**
 * Whether the gateway may take one more room: neither the scheduler's count (ahead of
 * heartbeats) nor the gateway's own (rooms it loaded without a fresh assignment, e.g. under
 * the static scheduler) has reached its capacity.
 */
export function hasRoomFor(gw: GatewayInfo): boolean {
  return Math.max(gw.assigned, gw.rooms) < gw.capacity;
}

/**
 * Least-loaded placement: among live, non-draining gateways with room to spare, the one with
 * the fewest assigned rooms. Gateways of equal load are told apart by rendezvous hashing on the
 * room id, not by a fixed order: schedulers that place rooms at the same moment read the same
 * (soon stale) counts, and a fixed tie-break (fewest connections, then id) would send every one
 * of those rooms to the same gateway. Hashing spreads them over the equals, while one room
 * always prefers the same gateway among them. Pure, so the policy is swappable and unit-tested
 * without Redis.
 */
export function pickLeastLoaded(gateways: readonly GatewayInfo[], roomId: string): GatewayInfo | undefined {
  let least: GatewayInfo[] = [];
  for (const gw of gateways) {
    if (gw.status !== 'active' || !hasRoomFor(gw)) continue;
    if (least.length === 0 || gw.assigned < least[0]!.assigned) least = [gw];
    else if (gw.assigned === least[0]!.assigned) least.push(gw);
  }
  if (least.length <= 1) return least[0];
  const owner = rendezvousOwner(roomId, least.map((gw) => gw.id));
  return least.find((gw) => gw.id === owner);
}

/**
 * Rendezvous (highest random weight) hashing: the static scheduler's owner for a room, and the
 * least-loaded placement's choice among equals. Every process computes the same owner from the
 * same gateway list without talking to anyone.
 */
export function rendezvousOwner(roomId: string, gatewayIds: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const id of gatewayIds) {
    const score = createHash('sha256').update(`${id}\n${roomId}`).digest().readBigUInt64BE(0);
    if (score > bestScore) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}
