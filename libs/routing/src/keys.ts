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
  /** Pub/sub channel for commands to one gateway (drain). */
  gatewayCommands: (id: string) => `gw:{${id}}:commands`,
  /** String: the gateway that owns the room. */
  roomOwner: (roomId: string) => `room:{${roomId}}:owner`,
} as const;
