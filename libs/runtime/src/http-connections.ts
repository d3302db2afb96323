import type { Server } from 'node:http';

/** Time that requests in flight get to finish once the server is closed (ms). */
export const CONNECTION_GRACE_MS = 2_000;

/**
 * Makes `server.close()` finish while clients still hold connections open.
 *
 * Node's `close()` ends idle keep-alive connections at once, but waits for every other one with
 * no deadline of its own. A connection on which no complete request has arrived yet counts as
 * active: a browser's spare socket, opened ahead of need, or a request still being received.
 * Node only drops such a connection after `headersTimeout` (60 s, checked every 30 s). One of
 * them kept the API running for more than 30 s after Ctrl-C.
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
