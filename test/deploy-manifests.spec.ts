/**
 * Issue 8, acceptance 4: the Kubernetes manifests validate against the Kubernetes schemas
 * (offline, with the schemas bundled in the `kubernetes-models` package), the compose file
 * passes `docker-compose config` (Debian's docker-compose 1.29), and each property the issue
 * names is present: a PodDisruptionBudget for the gateways, HTTP readiness on /health/ready,
 * a grace period longer than the drain deadline, a StatefulSet with a headless Service and a
 * per-pod public URL, resource requests, and a compose Redis with AOF persistence, which is run
 * for real with Debian's redis-server and survives a kill -9.
 *
 * Nothing here talks to a Kubernetes cluster or a Docker engine: neither runs on this machine.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { parseConfig } from '../libs/config/src';
import { freePort, ROOT, waitFor } from './support/processes';

// Untyped test-only dependencies, loaded with require so the typecheck does not need their types.
const yaml = require('js-yaml') as { loadAll(text: string): unknown[]; load(text: string): unknown };

const K8S_DIR = join(ROOT, 'docker', 'k8s');
const COMPOSE_FILE = join(ROOT, 'docker', 'compose.yaml');
/** Seconds the gateways' grace period must exceed the drain deadline by (close, bounded waits after it). */
const GRACE_MARGIN_SECONDS = 15;

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: any };
type Container = { name: string; env?: Array<{ name: string; value?: string; valueFrom?: any }>; resources?: any; readinessProbe?: any; livenessProbe?: any; ports?: Array<{ name?: string; containerPort: number }> };

function manifests(): Array<{ file: string; doc: Doc }> {
  return readdirSync(K8S_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) => (yaml.loadAll(readFileSync(join(K8S_DIR, file), 'utf8')) as Doc[]).filter(Boolean).map((doc) => ({ file, doc })));
}

function find(kind: string, name: string): Doc {
  const found = manifests().find(({ doc }) => doc.kind === kind && doc.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in docker/k8s/`);
  return found.doc;
}

const podSpecOf = (doc: Doc) => doc.spec.template.spec as { containers: Container[]; terminationGracePeriodSeconds?: number };
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * The kubernetes-models class for a manifest's apiVersion and kind (e.g. `apps/v1` StatefulSet
 * is `kubernetes-models/apps/v1/StatefulSet`), whose `validate()` checks the object against the
 * JSON schema generated from the Kubernetes OpenAPI definitions.
 */
function modelFor(doc: Doc): new (data: Doc) => { validate(): void } {
  let loaded: Record<string, unknown>;
  try {
    loaded = require(`kubernetes-models/${doc.apiVersion}/${doc.kind}`) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND' && !isInstalled('kubernetes-models')) {
      throw new Error('the manifest validator is not installed: kubernetes-models@4.5.1 must be a devDependency (npm ci installs it)');
    }
    throw new Error(`no Kubernetes schema for apiVersion ${doc.apiVersion}, kind ${doc.kind}: ${(err as Error).message}`);
  }
  const model = loaded[doc.kind];
  if (typeof model !== 'function') throw new Error(`kubernetes-models/${doc.apiVersion}/${doc.kind} exports no ${doc.kind}`);
  return model as new (data: Doc) => { validate(): void };
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** `docker-compose <args>` on docker/compose.yaml with a throw-away JWT_SECRET (the file requires one). */
function dockerCompose(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('docker-compose', ['-f', COMPOSE_FILE, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, JWT_SECRET: 'compose-config-check-not-a-secret' },
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('docker-compose is not installed: run `apt-get install -y docker-compose` (Debian 1.29.2; no Docker engine needed)');
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('Kubernetes manifests (docker/k8s)', () => {
  it('every manifest validates against the Kubernetes schemas', () => {
    const all = manifests();
    expect(all.length).toBeGreaterThanOrEqual(10);
    const failures: string[] = [];
    for (const { file, doc } of all) {
      try {
        new (modelFor(doc))(doc).validate();
      } catch (err) {
        failures.push(`${file}: ${doc.kind} ${doc.metadata?.name}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the validator is live: it rejects a StatefulSet without a selector and a PDB whose maxUnavailable is an object', () => {
    const sts = structuredClone(find('StatefulSet', 'gateway'));
    delete sts.spec.selector;
    expect(() => new (modelFor(sts))(sts).validate()).toThrow(/selector/);
    const pdb = structuredClone(find('PodDisruptionBudget', 'gateway'));
    pdb.spec.maxUnavailable = { one: 1 };
    expect(() => new (modelFor(pdb))(pdb).validate()).toThrow();
  });

  it('the configmap holds the long-life settings, and the app accepts every value in it', () => {
    const data = find('ConfigMap', 'durable-rooms-config').data as Record<string, string>;
    for (const name of ['ROOM_IDLE_MS', 'MAX_ROOMS_PER_GATEWAY', 'DRAIN_DEADLINE_MS']) expect(Object.keys(data)).toContain(name);
    const config = parseConfig({ ...data, JWT_SECRET: 'a-production-secret-of-enough-length', S3_SECRET_ACCESS_KEY: 'real-key' });
    expect(config.drainDeadlineMs).toBe(Number(data.DRAIN_DEADLINE_MS));
    expect(config.maxRoomsPerGateway).toBe(Number(data.MAX_ROOMS_PER_GATEWAY));
  });

  it('gateways: a StatefulSet behind a headless Service, each pod with a URL derived from its name', () => {
    const sts = find('StatefulSet', 'gateway');
    const service = find('Service', sts.spec.serviceName);
    expect(service.spec.clusterIP).toBe('None');
    expect(matches(service.spec.selector, sts.spec.template.metadata.labels)).toBe(true);
    const env = podSpecOf(sts).containers[0]!.env ?? [];
    const byName = new Map(env.map((e) => [e.name, e]));
    expect(byName.get('GATEWAY_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    // Kubernetes expands $(VAR) only from variables defined earlier in the list.
    const urlAt = env.findIndex((e) => e.name === 'GATEWAY_PUBLIC_URL');
    expect(env[urlAt]?.value).toMatch(/^https?:\/\/\$\(GATEWAY_ID\)\./);
    for (const used of env[urlAt]!.value!.matchAll(/\$\((\w+)\)/g)) expect(env.findIndex((e) => e.name === used[1])).toBeLessThan(urlAt);
  });

  it('gateways: a PodDisruptionBudget with maxUnavailable 1 that selects the gateway pods', () => {
    const pdb = manifests().find(({ doc }) => doc.kind === 'PodDisruptionBudget')?.doc;
    expect(pdb).toBeDefined();
    expect(pdb!.apiVersion).toBe('policy/v1');
    expect(pdb!.spec.maxUnavailable).toBe(1);
    expect(matches(pdb!.spec.selector.matchLabels, find('StatefulSet', 'gateway').spec.template.metadata.labels)).toBe(true);
  });

  it('API and gateways: HTTP readiness on /health/ready and liveness on /health/live, on a declared port', () => {
    for (const doc of [find('StatefulSet', 'gateway'), find('Deployment', 'api')]) {
      const [container] = podSpecOf(doc).containers;
      const ports = (container!.ports ?? []).map((p) => p.name);
      expect(container!.readinessProbe.httpGet.path).toBe('/health/ready');
      expect(container!.livenessProbe.httpGet.path).toBe('/health/live');
      expect(ports).toContain(container!.readinessProbe.httpGet.port);
      // The probe's own timeout exceeds the 1 s deadline of each dependency check.
      expect(container!.readinessProbe.timeoutSeconds).toBeGreaterThan(1);
    }
  });

  it('gateways: the grace period outlasts the drain deadline with a margin', () => {
    const drainDeadlineMs = Number(find('ConfigMap', 'durable-rooms-config').data.DRAIN_DEADLINE_MS);
    const grace = podSpecOf(find('StatefulSet', 'gateway')).terminationGracePeriodSeconds;
    expect(grace).toBeDefined();
    expect(grace! * 1000).toBeGreaterThanOrEqual(drainDeadlineMs + GRACE_MARGIN_SECONDS * 1000);
  });

  it('every container of every workload has CPU and memory requests and a memory limit', () => {
    const workloads = manifests().filter(({ doc }) => ['Deployment', 'StatefulSet', 'Job'].includes(doc.kind));
    expect(workloads.map(({ doc }) => doc.metadata.name).sort()).toEqual(['api', 'durable-rooms-migrate', 'gateway', 'worker']);
    for (const { doc } of workloads) {
      for (const container of podSpecOf(doc).containers) {
        expect({ workload: doc.metadata.name, requests: Object.keys(container.resources?.requests ?? {}).sort() }).toEqual({
          workload: doc.metadata.name,
          requests: ['cpu', 'memory'],
        });
        expect(container.resources.limits?.memory).toBeDefined();
      }
    }
  });
});

describe('docker/compose.yaml', () => {
  it('passes `docker-compose config -q` (Debian docker-compose 1.29)', () => {
    const result = dockerCompose(['config', '-q']);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('runs Redis with an append-only file on a volume', () => {
    const config = yaml.load(dockerCompose(['config']).stdout) as { services: Record<string, any>; volumes: Record<string, unknown> };
    const redis = config.services.redis;
    const command: string[] = redis.command;
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
    const dataVolume = (redis.volumes as string[]).find((v) => v.split(':')[1] === '/data');
    expect(dataVolume).toBeDefined();
    expect(Object.keys(config.volumes)).toContain(dataVolume!.split(':')[0]);
  });

  it("its Redis command keeps a queued job across a kill -9 (Debian's redis-server, for real)", async () => {
    const config = yaml.load(dockerCompose(['config']).stdout) as { services: Record<string, any> };
    const [binary, ...args] = config.services.redis.command as string[];
    expect(binary).toBe('redis-server');
    const dir = mkdtempSync(join(tmpdir(), 'durable-rooms-aof-'));
    const port = await freePort();
    const start = () => spawn(binary!, [...args, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], { stdio: 'ignore' });
    const connect = (): Promise<Redis> =>
      waitFor(
        'redis-server to answer',
        async () => {
          const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
          client.on('error', () => undefined);
          const pong = await client.connect().then(() => client.ping(), () => undefined);
          if (pong === 'PONG') return client;
          client.disconnect();
          return undefined;
        },
        15_000,
      );
    let server: ChildProcess | undefined;
    try {
      server = start();
      let client = await connect();
      await client.rpush('bull:exports:wait', 'export:job-1');
      client.disconnect();
      const killed = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGKILL');
      await killed;

      server = start();
      client = await connect();
      expect(await client.lrange('bull:exports:wait', 0, -1)).toEqual(['export:job-1']);
      client.disconnect();
    } finally {
      if (server && server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server!.once('exit', resolve));
        server.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
