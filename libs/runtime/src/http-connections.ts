import type { Server } from 'node:http';

/** Time that requests in flight get to finish once the server is closed (ms). */
export const CONNECTION_GRACE_MS = 2_000;

/**
 * Makes `server.close()` finish while clients still hold connections open.
 *
 * Node's `close()` ends idle keep-alive connections at once, but waits for every other one with
 * no deadline of its own. A connection on which no complete request has arrived yet counts as
 * active: a browser's spare socket, opened ahead of need, or a request still being received.
 * While the server listens Node drops such a connection after `headersTimeout`, but close()
 * stops that check too, so from then on it is held for as long as the client keeps it: measured
 * here, the API was still running 9 minutes after SIGTERM, holding one such connection.
 *
 * Nothing here runs at signal time: `close()` is called by Nest's HTTP adapter, and on a gateway
 * first by Socket.IO, both after the drain hooks. So sockets stay open while rooms are handed
 * over. Once close() is called, requests in flight get `graceMs`, then every connection left is
 * closed.
 */
export function closeConnectionsOnServerClose(server: Server, graceMs: number = CONNECTION_GRACE_MS): void {
  const close = server.close.bind(server);
  let cutScheduled = false;
  server.close = ((callback?: (err?: Error) => void) => {
    close(callback);
    // Socket.IO and Nest's adapter both call close(): schedule the cut once.
    if (!cutScheduled) {
      cutScheduled = true;
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), graceMs).unref();
    }
    return server;
  }) as Server['close'];
}
