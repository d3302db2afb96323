import { ConfigError, parseConfig } from './config';

const GOOD_SECRET = 'a-production-secret-of-enough-length-0123';

/** Parses `env`, expects a ConfigError and returns its message. */
function configError(env: Record<string, string | undefined>): string {
  let caught: unknown;
  try {
    parseConfig(env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  expect(message).not.toMatch(/[\r\n]/);
  return message;
}

describe(parseConfig.name, () => {
  it('leaves the S3 endpoint unset (AWS) in production and defaults it to the local store otherwise', () => {
    const production = parseConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-real-production-secret-123', S3_SECRET_ACCESS_KEY: 'real-key' });
    expect(production.s3.endpoint).toBeUndefined();
    expect(parseConfig({ NODE_ENV: 'test' }).s3.endpoint).toBe('http://127.0.0.1:4569');
  });

  it('applies the documented defaults to an empty environment', () => {
    const config = parseConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.databaseUrl).toBe('postgresql://postgres@127.0.0.1:5432/durable_rooms');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.redisClusterNodes).toBeUndefined();
    expect(config.s3).toEqual({
      endpoint: 'http://127.0.0.1:4569',
      region: 'us-east-1',
      bucket: 'durable-rooms',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    });
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(16);
    expect(config.port).toBeUndefined();
    expect(config.gatewayId).toBeUndefined();
    expect(config.staticGateways).toBeUndefined();
    expect(config.snapshotEveryEvents).toBe(1000);
    expect(config.snapshotIntervalMs).toBe(30000);
    expect(config.corsOrigins).toEqual([]);
    expect(config.rateLimitMsgPerSec).toBe(10);
    expect(config.authRateLimitPerMin).toBe(30);
    expect(config.trustProxy).toBeUndefined();
    expect(config.gatewayTtlSeconds).toBe(5);
    expect(config.tokenTtlSeconds).toBe(86_400);
    expect(config.ticketTtlSeconds).toBe(60);
    expect(config.roomIdleMs).toBe(60_000);
    expect(config.maxRoomsPerGateway).toBe(10_000);
    expect(config.drainDeadlineMs).toBe(25_000);
    expect(config.log).toEqual({ format: 'pretty', level: 'info' });
  });

  it('logs JSON by default in production, pretty otherwise, and LOG_FORMAT overrides either', () => {
    const secrets = { JWT_SECRET: GOOD_SECRET, S3_SECRET_ACCESS_KEY: 'real-key' };
    expect(parseConfig({ NODE_ENV: 'production', ...secrets }).log.format).toBe('json');
    expect(parseConfig({ NODE_ENV: 'test' }).log.format).toBe('pretty');
    expect(parseConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).log.format).toBe('json');
    expect(parseConfig({ NODE_ENV: 'production', LOG_FORMAT: 'pretty', ...secrets }).log.format).toBe('pretty');
  });

  it('reads LOG_LEVEL as one of pino\'s level names', () => {
    expect(parseConfig({ LOG_LEVEL: 'debug' }).log.level).toBe('debug');
    expect(parseConfig({ LOG_LEVEL: 'silent' }).log.level).toBe('silent');
  });

  it('refuses an unknown LOG_FORMAT or LOG_LEVEL, naming it and the allowed values', () => {
    expect(configError({ LOG_FORMAT: 'xml' })).toBe('invalid configuration: LOG_FORMAT: LOG_FORMAT must be one of json, pretty');
    expect(configError({ LOG_LEVEL: 'verbose' })).toBe(
      'invalid configuration: LOG_LEVEL: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    );
    expect(configError({ LOG_LEVEL: 'INFO' })).toMatch(/^invalid configuration: LOG_LEVEL: /);
  });

  it('reads DRAIN_DEADLINE_MS, where 0 hands every room over at once', () => {
    expect(parseConfig({ DRAIN_DEADLINE_MS: '5000' }).drainDeadlineMs).toBe(5000);
    expect(parseConfig({ DRAIN_DEADLINE_MS: '0' }).drainDeadlineMs).toBe(0);
  });

  it('reads ROOM_IDLE_MS=0 as "never unload" and MAX_ROOMS_PER_GATEWAY as a number', () => {
    const config = parseConfig({ ROOM_IDLE_MS: '0', MAX_ROOMS_PER_GATEWAY: '40' });
    expect(config.roomIdleMs).toBe(0);
    expect(config.maxRoomsPerGateway).toBe(40);
  });

  it('treats empty strings as unset', () => {
    expect(parseConfig({ PORT: '', DATABASE_URL: '' }).databaseUrl).toBe('postgresql://postgres@127.0.0.1:5432/durable_rooms');
  });

  it('reads well-formed values into typed fields', () => {
    const config = parseConfig({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgres://u@db:5432/x',
      REDIS_URL: 'rediss://cache:6380/3',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'my.bucket-1',
      S3_FORCE_PATH_STYLE: '0',
      JWT_SECRET: GOOD_SECRET,
      PORT: '3101',
      GATEWAY_ID: 'gw-1',
      GATEWAY_PUBLIC_URL: 'http://127.0.0.1:3101',
      SNAPSHOT_EVERY_EVENTS: '1',
      CORS_ORIGINS: ' http://a.test , http://b.test ,',
      RATE_LIMIT_MSG_PER_SEC: '0',
      AUTH_RATE_LIMIT_PER_MIN: '0',
      PATH: '/usr/bin',
    });
    expect(config.nodeEnv).toBe('test');
    expect(config.databaseUrl).toBe('postgres://u@db:5432/x');
    expect(config.redisUrl).toBe('rediss://cache:6380/3');
    expect(config.s3.endpoint).toBe('http://127.0.0.1:9000');
    expect(config.s3.bucket).toBe('my.bucket-1');
    expect(config.s3.forcePathStyle).toBe(false);
    expect(config.jwtSecret).toBe(GOOD_SECRET);
    expect(config.port).toBe(3101);
    expect(config.gatewayId).toBe('gw-1');
    expect(config.gatewayPublicUrl).toBe('http://127.0.0.1:3101');
    expect(config.snapshotEveryEvents).toBe(1);
    expect(config.corsOrigins).toEqual(['http://a.test', 'http://b.test']);
    expect(config.rateLimitMsgPerSec).toBe(0);
    expect(config.authRateLimitPerMin).toBe(0);
  });

  it('allows RATE_LIMIT_MSG_PER_SEC=0 (limit off)', () => {
    expect(parseConfig({ RATE_LIMIT_MSG_PER_SEC: '0' }).rateLimitMsgPerSec).toBe(0);
  });

  it('parses STATIC_GATEWAYS into [{id, url}]', () => {
    const config = parseConfig({ STATIC_GATEWAYS: 'gw-1=http://127.0.0.1:3101,gw-2=https://gw2.example.com:8443/base' });
    expect(config.staticGateways).toEqual([
      { id: 'gw-1', url: 'http://127.0.0.1:3101' },
      { id: 'gw-2', url: 'https://gw2.example.com:8443/base' },
    ]);
  });

  it('parses REDIS_CLUSTER_NODES into seed nodes (IPv6 hosts without brackets), keeping REDIS_URL as given', () => {
    const config = parseConfig({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-1.internal:7001,[::1]:7002', REDIS_URL: 'redis://127.0.0.1:1/0' });
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-1.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.redisUrl).toBe('redis://127.0.0.1:1/0');
  });

  describe('TRUST_PROXY', () => {
    it('trusts no proxy when unset or empty (X-Forwarded-For ignored)', () => {
      expect(parseConfig({}).trustProxy).toBeUndefined();
      expect(parseConfig({ TRUST_PROXY: '' }).trustProxy).toBeUndefined();
    });

    it('reads a whole number as a count of proxy hops', () => {
      expect(parseConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
      expect(parseConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(0);
      expect(parseConfig({ TRUST_PROXY: '3' }).trustProxy).toBe(3);
    });

    it('reads a comma-separated list of addresses and CIDR ranges, trimmed', () => {
      expect(parseConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
      expect(parseConfig({ TRUST_PROXY: ' 192.168.1.7 , fd00::/8, ::1, 172.16.0.0/12 ' }).trustProxy).toEqual([
        '192.168.1.7',
        'fd00::/8',
        '::1',
        '172.16.0.0/12',
      ]);
      expect(parseConfig({ TRUST_PROXY: '0.0.0.0/1,128.0.0.0/1,::ffff:10.0.0.0/104' }).trustProxy).toEqual(['0.0.0.0/1', '128.0.0.0/1', '::ffff:10.0.0.0/104']);
    });

    it.each([
      'garbage',
      'true',
      'loopback',
      '-1',
      '1.5',
      '10.0.0.0/33',
      '0.0.0.0/0',
      '::/129',
      '10.0.0.0/8/1',
      '10.0.0.0/',
      '10.0.0.256',
      '10.0.0.0/8,',
      '10.0.0.0/8;127.0.0.1',
      '10.0.0.0/8,proxy.internal',
      'fe80::1%eth0',
      '99999999999999999999',
    ])('refuses %p with one line naming TRUST_PROXY and the bad entry', (value) => {
      const message = configError({ TRUST_PROXY: value });
      expect(message.startsWith('invalid configuration: TRUST_PROXY: TRUST_PROXY must be a number of proxy hops or IP addresses/CIDR ranges')).toBe(true);
    });

    it('names the entry of a list that is not an address', () => {
      expect(configError({ TRUST_PROXY: '10.0.0.0/8, lb.internal' })).toContain('"lb.internal" is not one');
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:7000,'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:70000'],
    ['REDIS_CLUSTER_NODES', '127.0.0.1:0'],
    ['REDIS_CLUSTER_NODES', 'redis://127.0.0.1:7000'],
    ['REDIS_CLUSTER_NODES', 'a:7000;b:7001'],
    ['S3_ENDPOINT', 'ftp://s3'],
    ['S3_BUCKET', 'ab'],
    ['S3_BUCKET', 'Upper_Case'],
    ['S3_FORCE_PATH_STYLE', 'yes'],
    ['JWT_SECRET', 'short'],
    ['JWT_SECRET', '0123456789abcde'],
    ['NODE_ENV', 'staging'],
    ['GATEWAY_ID', 'gw 1'],
    ['GATEWAY_PUBLIC_URL', 'gw-1:3101'],
    ['STATIC_GATEWAYS', 'gw-1'],
    ['STATIC_GATEWAYS', 'gw-1=ftp://x'],
    ['STATIC_GATEWAYS', 'gw-1=http://a,,gw-2=http://b'],
    ['STATIC_GATEWAYS', 'gw 1=http://a'],
    ['SNAPSHOT_EVERY_EVENTS', '0'],
    ['SNAPSHOT_INTERVAL_MS', '99'],
    ['RATE_LIMIT_MSG_PER_SEC', '-5'],
    ['AUTH_RATE_LIMIT_PER_MIN', 'ten'],
    ['GATEWAY_TTL_SECONDS', '1'],
    ['TOKEN_TTL_SECONDS', '59'],
    ['TICKET_TTL_SECONDS', '601'],
    ['ROOM_IDLE_MS', '-1'],
    ['ROOM_IDLE_MS', '1.5'],
    ['MAX_ROOMS_PER_GATEWAY', '0'],
    ['MAX_ROOMS_PER_GATEWAY', 'many'],
    ['DRAIN_DEADLINE_MS', '-1'],
    ['DRAIN_DEADLINE_MS', '25s'],
    ['DRAIN_DEADLINE_MS', '3600001'],
  ])('rejects %s=%p with one line naming it', (name, value) => {
    const message = configError({ [name]: value });
    expect(message).toContain(name);
    expect(message.startsWith(`invalid configuration: ${name}:`)).toBe(true);
  });

  it('names the offending variable, not a valid neighbour', () => {
    const message = configError({ PORT: '3000', DATABASE_URL: 'postgresql://ok@h/db', SNAPSHOT_EVERY_EVENTS: '0' });
    expect(message).toContain('SNAPSHOT_EVERY_EVENTS');
    expect(message).not.toContain('PORT');
  });

  describe('production mode', () => {
    it('refuses a missing JWT_SECRET (the development default)', () => {
      expect(configError({ NODE_ENV: 'production', S3_SECRET_ACCESS_KEY: 'real-s3-secret' })).toContain('JWT_SECRET');
    });

    it('refuses the development JWT secret set explicitly', () => {
      const devSecret = parseConfig({}).jwtSecret;
      expect(configError({ NODE_ENV: 'production', JWT_SECRET: devSecret, S3_SECRET_ACCESS_KEY: 'real-s3-secret' })).toContain('JWT_SECRET');
    });

    it('refuses a missing or development S3 secret', () => {
      expect(configError({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET })).toContain('S3_SECRET_ACCESS_KEY');
      expect(configError({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, S3_SECRET_ACCESS_KEY: 'S3RVER' })).toContain(
        'S3_SECRET_ACCESS_KEY',
      );
    });

    it('accepts real secrets', () => {
      const config = parseConfig({ NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, S3_SECRET_ACCESS_KEY: 'real-s3-secret' });
      expect(config.nodeEnv).toBe('production');
      expect(config.jwtSecret).toBe(GOOD_SECRET);
      expect(config.s3.secretAccessKey).toBe('real-s3-secret');
    });

    it('development mode accepts the defaults', () => {
      expect(() => parseConfig({ NODE_ENV: 'development' })).not.toThrow();
      expect(() => parseConfig({ NODE_ENV: 'test' })).not.toThrow();
    });
  });
});
