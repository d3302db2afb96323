/** Where a room is served: the gateway clients of the room must connect to. */
export interface Placement {
  gatewayId: string;
  url: string;
}

/**
 * The API's view of room placement (the seed design's scheduler). `resumeRoom` is the only way
 * to find a room's gateway: it returns the live owner or moves the room to a live one.
 */
export interface Scheduler {
  /**
   * Assigns a new room to the least-loaded live gateway. Throws `no_gateway` when none can be
   * chosen now (none live, or the registry unreachable): the room is placed on its first connection.
   */
  placeNewRoom(roomId: string): Promise<Placement>;
  /**
   * The room's live, non-draining owner, or a newly assigned one (which rehydrates the room
   * when the first client connects). Throws `no_gateway` when none is live.
   */
  resumeRoom(roomId: string): Promise<Placement>;
}
