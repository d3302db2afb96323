import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { closeConnectionsOnServerClose } from './http-connections';

/** A loopback HTTP server whose handler answers `/slow` after `slowMs`. */
async function listen(slowMs = 0): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const answer = () => res.end(`done ${req.url}`);
    if (req.url === '/slow') setTimeout(answer, slowMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

/** A client connection that has sent nothing yet, as a browser's spare socket. */
async function silentConnection(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

const closed = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe(closeConnectionsOnServerClose.name, () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) s.closeAllConnections();
  });

  it('is needed: without it, a connection that sent no request keeps close() pending', async () => {
    const { server, port } = await listen();
    servers.push(server);
    sockets.push(await silentConnection(port));
    let done = false;
    server.close(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(done).toBe(false);
  });

  it('lets close() finish and ends the silent connection once the grace has passed', async () => {
    const { server, port } = await listen();
    servers.push(server);
    closeConnectionsOnServerClose(server, 100);
    const socket = await silentConnection(port);
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    await closed(socket);
    expect(socket.destroyed).toBe(true);
  });

  it('lets a request in flight finish within the grace', async () => {
    const { server, port } = await listen(150);
    servers.push(server);
    closeConnectionsOnServerClose(server, 2_000);
    const response = new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/slow' }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the request has reached the handler
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(response).resolves.toEqual({ status: 200, body: 'done /slow' });
    await serverClosed;
  });

  it('tolerates close() being called twice (Socket.IO, then Nest)', async () => {
    const { server, port } = await listen();
    servers.push(server);
    closeConnectionsOnServerClose(server, 100);
    const socket = await silentConnection(port);
    sockets.push(socket);
    const first = new Promise<Error | undefined>((resolve) => server.close((err) => resolve(err)));
    const second = new Promise<Error | undefined>((resolve) => server.close((err) => resolve(err)));
    expect(await first).toBeUndefined();
    expect((await second)?.message).toMatch(/not running/);
    await closed(socket);
  });
});
