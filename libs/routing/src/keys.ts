/**
 * Redis key layout. The `{…}` hash tags keep each room's and each gateway's keys in one Redis
 * Cluster slot.
 */
export const keys = {
  /** Hash: id, url, status, rooms, connections, lastSeenAt. Expires when heartbeats stop. */
  gateway: (id: string) => `gw:{${id}}:info`,
  /** Sorted set of every gateway ever seen, scored by last heartbeat (ms), for the directory. */
  gatewayIndex: 'gw:index',
  /**
   * Sorted set of the rooms the scheduler assigned to the gateway, scored by the time of the
   * assignment (ms), or +inf once the gateway loaded the room. Its size is the gateway's
   * assigned-room count; a low score marks an assignment no client ever followed.
   */
  gatewayRooms: (id: string) => `gw:{${id}}:rooms`,
  /** Set of rooms the scheduler moved away from the gateway, until the gateway takes them. */
  gatewayRevoked: (id: string) => `gw:{${id}}:revoked`,
  /** String set by the admin drain endpoint; the gateway polls it with its heartbeat. */
  gatewayDrainRequest: (id: string) => `gw:{${id}}:drain`,
  /** String: the gateway that owns the room. */
  roomOwner: (roomId: string) => `room:{${roomId}}:owner`,
} as const;
