/**
 * Redis key layout. The `{…}` hash tags keep each room's and each gateway's keys in one Redis
 * Cluster slot.
 */
export const keys = {
  /** Hash: id, url, status, rooms, connections, lastSeenAt. Expires when heartbeats stop. */
  gateway: (id: string) => `gw:{${id}}:info`,
  /** Sorted set of every gateway ever seen, scored by last heartbeat (ms), for the directory. */
  gatewayIndex: 'gw:index',
  /** Hash gatewayId → rooms assigned by the scheduler. */
  gatewayAssigned: 'gw:assigned',
  /** String set by the admin drain endpoint; the gateway polls it with its heartbeat. */
  gatewayDrainRequest: (id: string) => `gw:{${id}}:drain`,
  /** String: the gateway that owns the room. */
  roomOwner: (roomId: string) => `room:{${roomId}}:owner`,
} as const;
