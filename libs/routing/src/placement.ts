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
 * the fewest assigned rooms, ties broken by fewest connections, then by id so the choice is
 * deterministic. Pure, so the policy is swappable and unit-tested without Redis.
 */
export function pickLeastLoaded(gateways: readonly GatewayInfo[]): GatewayInfo | undefined {
  let best: GatewayInfo | undefined;
  for (const gw of gateways) {
    if (gw.status !== 'active' || !hasRoomFor(gw)) continue;
    if (
      !best ||
      gw.assigned < best.assigned ||
      (gw.assigned === best.assigned && (gw.connections < best.connections || (gw.connections === best.connections && gw.id < best.id)))
    ) {
      best = gw;
    }
  }
  return best;
}

/**
 * Rendezvous (highest random weight) hashing: the static scheduler's owner for a room. Every
 * process computes the same owner from the same gateway list without talking to anyone.
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
