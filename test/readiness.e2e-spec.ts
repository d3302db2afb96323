/**
 * Issue 8, Kubernetes part: the gateway's HTTP readiness probe (`GET /health/ready`) means
 * something. It is 503 naming Postgres while the gateway cannot reach it, ready again once it
 * can, and 503 `draining` from the moment an admin drain starts; `/health/live` stays 200
 * throughout, so Kubernetes never restarts a gateway for an outage or a drain. Real API and
 * gateway processes; the gateways reach Postgres through a proxy the test cuts.
 */
import { ApiClient } from './support/client';
import { waitFor } from './support/processes';
import { type GatewayProcess, TestStack } from './support/stack';

jest.setTimeout(120_000);

interface Probe {
  status: number;
  body: { status?: string; error?: { code: string; message: string } };
}

async function probe(gw: GatewayProcess, path: '/health/ready' | '/health/live'): Promise<Probe> {
  const res = await fetch(`${gw.url}${path}`);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

/** Polls readiness until it answers `status` (the gateway notices outages and drains within a heartbeat or a ping). */
function readinessBecomes(gw: GatewayProcess, status: number): Promise<Probe> {
  return waitFor(`${gw.id} /health/ready to answer ${status}`, async () => {
    const ready = await probe(gw, '/health/ready');
    return ready.status === status ? ready : undefined;
  });
}

describe('gateway readiness (e2e)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await TestStack.start({ name: 'ready', gateways: 2, pgProxy: true });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('is 503 naming postgres while the gateway cannot reach it, and ready again when it can', async () => {
    const [gw] = stack.gateways;
    expect(await probe(gw!, '/health/ready')).toEqual({ status: 200, body: { status: 'ok' } });

    stack.pgProxy!.cut();
    const down = await readinessBecomes(gw!, 503);
    expect(down.body).toEqual({ error: { code: 'unavailable', message: 'not ready: postgres unreachable' } });
    expect(await probe(gw!, '/health/live')).toEqual({ status: 200, body: { status: 'ok' } });

    stack.pgProxy!.restore();
    expect((await readinessBecomes(gw!, 200)).body).toEqual({ status: 'ok' });
  });

  it('is 503 `draining` once an admin drain starts, while live stays 200 and the other gateway stays ready', async () => {
    const [target, other] = stack.gateways;
    const api = new ApiClient(stack.apiUrl);
    await stack.createAdmin('ready_admin', 'admin-password-123');
    const admin = await api.request('POST', '/auth/login', { body: { username: 'ready_admin', password: 'admin-password-123' } });
    // Rooms placed on the gateways (a run of new rooms spreads over both), so the drain has work.
    const owner = await api.register('readyowner');
    for (let i = 0; i < 2; i++) await api.connection(owner.token, (await api.createRoom(owner.token, `readiness room ${i}`)).id);

    expect((await probe(target!, '/health/ready')).status).toBe(200);
    const drain = await api.request('POST', `/admin/gateways/${target!.id}/drain`, { token: admin.body.token });
    expect(drain.status).toBe(202);

    const draining = await readinessBecomes(target!, 503);
    expect(draining.body).toEqual({ error: { code: 'unavailable', message: 'not ready: draining' } });
    expect(await probe(target!, '/health/live')).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await probe(other!, '/health/ready')).status).toBe(200);

    // Drained, the gateway idles as `gone` and stays unready until it is stopped.
    await waitFor('the drained gateway to be gone', async () => {
      const res = await api.request('GET', '/admin/gateways', { token: admin.body.token });
      return res.body.gateways.find((g: { id: string }) => g.id === target!.id)?.status === 'gone';
    });
    expect((await probe(target!, '/health/ready')).body).toEqual({ error: { code: 'unavailable', message: 'not ready: draining' } });
    expect(target!.proc.running).toBe(true);
  });
});
