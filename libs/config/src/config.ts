import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * One validated, typed configuration, read once at start-up (DESIGN.md example 4). A missing or
 * malformed variable stops the process with one line naming it.
 */
const DEV_JWT_SECRET = 'dev-only-insecure-jwt-secret-change-me';
const DEV_S3_KEY = 'S3RVER';
/** The S3-compatible store `npm start` runs on loopback (scripts/s3-server.mjs). */
export const LOCAL_S3_ENDPOINT = 'http://127.0.0.1:4569';

/** Log formats: one JSON object a line (production), or pino-pretty's lines for a terminal. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
/** pino's level names, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const intFrom = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));

const url = (name: string, protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `${name} must be a ${protocols.join(' or ')} URL`);

/** One Redis Cluster seed node, `host:port` (an IPv6 host in brackets). */
const CLUSTER_NODE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

/** `host:port,host:port,…` into seed nodes; the message names what is wrong. */
const clusterNodes = z
  .string()
  .transform((value, ctx) => {
    const nodes: Array<{ host: string; port: number }> = [];
    for (const entry of value.split(',').map((s) => s.trim())) {
      const match = CLUSTER_NODE.exec(entry);
      const port = Number(match?.[2]);
      if (!match || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: `REDIS_CLUSTER_NODES must be host:port pairs separated by commas ("${entry}" is not one)` });
        return z.NEVER;
      }
      nodes.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
    }
    return nodes;
  });

/** An IPv4 or IPv6 address, optionally `/prefix` (CIDR): one entry of a TRUST_PROXY list. */
function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  // No zone ids (`fe80::1%eth0`) or names: only what Express's proxy-addr compiles as an address.
  const version = /^[0-9A-Fa-f:.]+$/.test(address) ? isIP(address) : 0;
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  // proxy-addr refuses a /0 (to trust every address, a hop count says it plainly).
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (version === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: a whole number of proxy hops, or IP addresses/CIDR ranges separated by commas
 * (Express's `trust proxy` setting); the message names what is wrong.
 */
const trustProxy = z.string().transform((value, ctx): number | string[] => {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (Number.isSafeInteger(hops)) return hops;
  }
  const entries = text.split(',').map((s) => s.trim());
  const bad = entries.find((entry) => !isAddressOrCidr(entry));
  if (bad === undefined) return entries;
  ctx.addIssue({
    code: 'custom',
    message: `TRUST_PROXY must be a number of proxy hops or IP addresses/CIDR ranges separated by commas ("${bad}" is not one)`,
  });
  return z.NEVER;
});

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  DATABASE_URL: url('DATABASE_URL', ['postgres:', 'postgresql:']).default('postgresql://postgres@127.0.0.1:5432/durable_rooms'),
  REDIS_URL: url('REDIS_URL', ['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** Seed nodes of a Redis Cluster; when set, every process uses the cluster instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  S3_ENDPOINT: url('S3_ENDPOINT', ['http:', 'https:']).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'S3_BUCKET must be a valid bucket name (3-63 chars)')
    .default('durable-rooms'),
  S3_ACCESS_KEY_ID: z.string().min(1).default(DEV_S3_KEY),
  S3_SECRET_ACCESS_KEY: z.string().min(1).default(DEV_S3_KEY),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0']).default('true').transform((v) => v === 'true' || v === '1'),
  JWT_SECRET: z.string().min(16, 'JWT_SECRET must be at least 16 characters').default(DEV_JWT_SECRET),
  PORT: intFrom('PORT', 0, 65535).optional(),
  GATEWAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'GATEWAY_ID must be 1-64 of [A-Za-z0-9_.-]')
    .optional(),
  GATEWAY_PUBLIC_URL: url('GATEWAY_PUBLIC_URL', ['http:', 'https:']).optional(),
  /** Comma-separated `id=url` pairs; set it to use the static scheduler instead of Redis. */
  STATIC_GATEWAYS: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+=https?:\/\/[^,\s]+(,[A-Za-z0-9_.-]+=https?:\/\/[^,\s]+)*$/, 'STATIC_GATEWAYS must be id=url pairs separated by commas')
    .optional(),
  SNAPSHOT_EVERY_EVENTS: intFrom('SNAPSHOT_EVERY_EVENTS', 1, 10_000_000).default(1000),
  SNAPSHOT_INTERVAL_MS: intFrom('SNAPSHOT_INTERVAL_MS', 100, 86_400_000).default(30000),
  CORS_ORIGINS: z.string().default(''),
  RATE_LIMIT_MSG_PER_SEC: intFrom('RATE_LIMIT_MSG_PER_SEC', 0, 1_000_000).default(10),
  AUTH_RATE_LIMIT_PER_MIN: intFrom('AUTH_RATE_LIMIT_PER_MIN', 0, 1_000_000).default(30),
  /** Proxies whose X-Forwarded-For is believed: a hop count or an address/CIDR list; unset: none. */
  TRUST_PROXY: trustProxy.optional(),
  /** Seconds a gateway registration lives without a heartbeat. */
  GATEWAY_TTL_SECONDS: intFrom('GATEWAY_TTL_SECONDS', 2, 3600).default(5),
  /** Lifetime of access tokens, seconds. */
  TOKEN_TTL_SECONDS: intFrom('TOKEN_TTL_SECONDS', 60, 30 * 86_400).default(86_400),
  /** Lifetime of gateway tickets, seconds (about a minute, per the contract). */
  TICKET_TTL_SECONDS: intFrom('TICKET_TTL_SECONDS', 5, 600).default(60),
  /** A room with no socket and nothing in flight this long is unloaded; 0 never unloads. */
  ROOM_IDLE_MS: intFrom('ROOM_IDLE_MS', 0, 86_400_000).default(60_000),
  /** Rooms one gateway may hold; placement skips a full gateway. */
  MAX_ROOMS_PER_GATEWAY: intFrom('MAX_ROOMS_PER_GATEWAY', 1, 10_000_000).default(10_000),
  /** ms a drain spends handing rooms over one by one with final snapshots; the rest go at once. */
  DRAIN_DEADLINE_MS: intFrom('DRAIN_DEADLINE_MS', 0, 3_600_000).default(25_000),
  /** `json` (one object a line) or `pretty` (for a terminal); the default depends on NODE_ENV. */
  LOG_FORMAT: z.enum(LOG_FORMATS, { error: `LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export type RawEnv = z.input<typeof envSchema>;

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  databaseUrl: string;
  redisUrl: string;
  /** REDIS_CLUSTER_NODES: when set, Redis is this cluster and `redisUrl` is not used. */
  redisClusterNodes?: Array<{ host: string; port: number }>;
  s3: {
    endpoint?: string;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
  };
  jwtSecret: string;
  port?: number;
  gatewayId?: string;
  gatewayPublicUrl?: string;
  staticGateways?: Array<{ id: string; url: string }>;
  snapshotEveryEvents: number;
  snapshotIntervalMs: number;
  corsOrigins: string[];
  rateLimitMsgPerSec: number;
  authRateLimitPerMin: number;
  /**
   * TRUST_PROXY, for Express's `trust proxy` setting: the number of proxy hops in front of the
   * API, or the addresses/CIDR ranges of trusted proxies, whose `X-Forwarded-For` gives the client
   * address (auth rate limits). Undefined (unset): no proxy is trusted, the socket's peer is the
   * client and X-Forwarded-For is ignored.
   */
  trustProxy?: number | string[];
  gatewayTtlSeconds: number;
  tokenTtlSeconds: number;
  ticketTtlSeconds: number;
  /** ms a room may sit with no socket and nothing in flight before it is unloaded; 0: never. */
  roomIdleMs: number;
  /** Rooms one gateway holds at most (carried in its heartbeat, respected by placement). */
  maxRoomsPerGateway: number;
  /**
   * ms after a drain starts by which it stops waiting for final snapshots and hands every
   * remaining room over at once (released, `room:moved`): keep it below the grace period a
   * supervisor gives a stopping gateway (Kubernetes terminationGracePeriodSeconds). Default 25000.
   */
  drainDeadlineMs: number;
  /** Process logs: `json` in production and `pretty` otherwise unless LOG_FORMAT says; level `info` by default. */
  log: { format: LogFormat; level: LogLevel };
}

export class ConfigError extends Error {}

/** Validates `env` into an AppConfig, or throws a ConfigError whose message is one line. */
export function parseConfig(env: Record<string, string | undefined>): AppConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = envSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${name}: ${issue.message}`);
  }
  const e = result.data;
  if (e.NODE_ENV === 'production') {
    if (e.JWT_SECRET === DEV_JWT_SECRET || !present.JWT_SECRET) {
      throw new ConfigError('invalid configuration: JWT_SECRET: production mode refuses the development default');
    }
    if (!present.S3_SECRET_ACCESS_KEY || e.S3_SECRET_ACCESS_KEY === DEV_S3_KEY) {
      throw new ConfigError('invalid configuration: S3_SECRET_ACCESS_KEY: production mode refuses the development default');
    }
  }
  return {
    nodeEnv: e.NODE_ENV,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES,
    s3: {
      // Outside production an unset endpoint means the local store `npm start` runs, so the CLI
      // and single processes started by hand find it too; production without one means AWS.
      endpoint: e.S3_ENDPOINT ?? (e.NODE_ENV === 'production' ? undefined : LOCAL_S3_ENDPOINT),
      region: e.S3_REGION,
      bucket: e.S3_BUCKET,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
    },
    jwtSecret: e.JWT_SECRET,
    port: e.PORT,
    gatewayId: e.GATEWAY_ID,
    gatewayPublicUrl: e.GATEWAY_PUBLIC_URL,
    staticGateways: e.STATIC_GATEWAYS?.split(',').map((pair) => {
      const at = pair.indexOf('=');
      return { id: pair.slice(0, at), url: pair.slice(at + 1) };
    }),
    snapshotEveryEvents: e.SNAPSHOT_EVERY_EVENTS,
    snapshotIntervalMs: e.SNAPSHOT_INTERVAL_MS,
    corsOrigins: e.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
    rateLimitMsgPerSec: e.RATE_LIMIT_MSG_PER_SEC,
    authRateLimitPerMin: e.AUTH_RATE_LIMIT_PER_MIN,
    trustProxy: e.TRUST_PROXY,
    gatewayTtlSeconds: e.GATEWAY_TTL_SECONDS,
    tokenTtlSeconds: e.TOKEN_TTL_SECONDS,
    ticketTtlSeconds: e.TICKET_TTL_SECONDS,
    roomIdleMs: e.ROOM_IDLE_MS,
    maxRoomsPerGateway: e.MAX_ROOMS_PER_GATEWAY,
    drainDeadlineMs: e.DRAIN_DEADLINE_MS,
    log: { format: e.LOG_FORMAT ?? (e.NODE_ENV === 'production' ? 'json' : 'pretty'), level: e.LOG_LEVEL },
  };
}

/** Reads process.env once; on a bad variable prints one line and exits 1. */
export function loadConfigOrExit(required: Array<'GATEWAY_ID' | 'GATEWAY_PUBLIC_URL' | 'PORT'> = []): AppConfig {
  try {
    const config = parseConfig(process.env);
    for (const name of required) {
      const value = { GATEWAY_ID: config.gatewayId, GATEWAY_PUBLIC_URL: config.gatewayPublicUrl, PORT: config.port }[name];
      if (value === undefined) throw new ConfigError(`invalid configuration: ${name}: required for this process`);
    }
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
