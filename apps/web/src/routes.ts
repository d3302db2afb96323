/** The app's paths, as the API serves them (apps/api/src/web/web-client.ts). Pure. */
export type Route = { name: 'rooms' } | { name: 'room'; roomId: string } | { name: 'admin' } | { name: 'unknown'; path: string };

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'rooms' };
  if (pathname === '/admin') return { name: 'admin' };
  const room = /^\/r\/([^/]{1,200})$/.exec(pathname);
  if (room) {
    try {
      return { name: 'room', roomId: decodeURIComponent(room[1]!) };
    } catch {
      return { name: 'unknown', path: pathname }; // a malformed %-escape
    }
  }
  return { name: 'unknown', path: pathname };
}

/** The shareable link of a room, relative to the app's origin. */
export function roomPath(roomId: string): string {
  return `/r/${encodeURIComponent(roomId)}`;
}
