import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './app-config.js';

const SECRET = 's'.repeat(32);

describe('loadConfig', () => {
  it('gives docs/CONTRACT.md defaults for an empty environment, with a generated secret', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      production: false,
      port: 3000,
      redisUrl: undefined,
      redisClusterNodes: undefined,
      tokenTtlSeconds: 900,
      maxTokenTtlSeconds: 86_400,
      tokenRateLimit: 60,
      tokenRateWindowSeconds: 60,
      tokenMaxOutstanding: 100,
      resultTtlSeconds: 86_400,
      inProgressTtlSeconds: 60,
      trustProxy: false,
      tokenSecretGenerated: true,
      maxConnectionsPerAddress: 256,
      redisAllowEviction: false,
      orderEventsQueue: 'auto',
      redisSentinels: undefined,
      redisMinReplicas: 0,
      redisReplicaTimeoutMs: 500,
    });
    expect(config.tokenSecret.length).toBeGreaterThanOrEqual(32);
    expect(config.apiKeys.size).toBe(0);
    expect(loadConfig({}).tokenSecret).not.toBe(config.tokenSecret);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001',
      TOKEN_SECRET: SECRET,
      TOKEN_TTL_SECONDS: '60',
      TOKEN_MAX_TTL_SECONDS: '120',
      TOKEN_RATE_LIMIT: '5',
      TOKEN_RATE_WINDOW_SECONDS: '10',
      TOKEN_MAX_OUTSTANDING: '3',
      IDEMPOTENCY_RESULT_TTL_SECONDS: '30',
      IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: '2',
      API_KEYS: 'alice:key-a,bob:key-b',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      MAX_CONNECTIONS_PER_ADDRESS: '0',
      REDIS_ALLOW_EVICTION: 'true',
      ORDER_EVENTS_QUEUE: 'off',
    });
    expect(config).toMatchObject({
      port: 8080,
      redisClusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      tokenSecret: SECRET,
      tokenSecretGenerated: false,
      tokenTtlSeconds: 60,
      maxTokenTtlSeconds: 120,
      tokenRateLimit: 5,
      tokenRateWindowSeconds: 10,
      tokenMaxOutstanding: 3,
      resultTtlSeconds: 30,
      inProgressTtlSeconds: 2,
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      maxConnectionsPerAddress: 0,
      redisAllowEviction: true,
      orderEventsQueue: 'off',
    });
    expect([...config.apiKeys]).toEqual([
      ['key-a', 'alice'],
      ['key-b', 'bob'],
    ]);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ REDIS_URL: 'redis://localhost:6379/0' }).redisUrl).toBe(
      'redis://localhost:6379/0',
    );
    expect(
      loadConfig({
        REDIS_SENTINELS: 's1:26379,s2:26380',
        REDIS_SENTINEL_NAME: 'tokens',
        REDIS_MIN_REPLICAS: '1',
        REDIS_REPLICA_TIMEOUT_MS: '250',
      }),
    ).toMatchObject({
      redisSentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      redisSentinelName: 'tokens',
      redisMinReplicas: 1,
      redisReplicaTimeoutMs: 250,
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '0' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ TOKEN_TTL_SECONDS: '-1' }, 'TOKEN_TTL_SECONDS'],
    [{ TOKEN_RATE_LIMIT: '1.5' }, 'TOKEN_RATE_LIMIT'],
    [{ TOKEN_MAX_OUTSTANDING: 'many' }, 'TOKEN_MAX_OUTSTANDING'],
    [{ IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: '0' }, 'IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS'],
    [{ TOKEN_TTL_SECONDS: '200', TOKEN_MAX_TTL_SECONDS: '100' }, 'TOKEN_TTL_SECONDS'],
    [
      { IDEMPOTENCY_RESULT_TTL_SECONDS: '30', IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: '60' },
      'IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS',
    ],
    [{ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'b:2' }, 'REDIS_URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ REDIS_CLUSTER_NODES: 'a:1,b' }, 'REDIS_CLUSTER_NODES'],
    [{ TOKEN_SECRET: 'short' }, 'TOKEN_SECRET'],
    [{ API_KEYS: 'alice' }, 'API_KEYS'],
    [{ TRUST_PROXY: 'yes please' }, 'TRUST_PROXY'],
    [{ NODE_ENV: 'production', REDIS_URL: 'redis://a:1' }, 'TOKEN_SECRET'],
    [{ API_KEYS: 'alice:same,bob:same' }, 'API_KEYS'],
    [{ TOKEN_RATE_WINDOW_SECONDS: '9007199254740991' }, 'TOKEN_RATE_WINDOW_SECONDS'],
    [{ TOKEN_RATE_WINDOW_SECONDS: '86401' }, 'TOKEN_RATE_WINDOW_SECONDS'],
    [{ TOKEN_TTL_SECONDS: '31536001', TOKEN_MAX_TTL_SECONDS: '31536001' }, 'TOKEN_MAX_TTL_SECONDS'],
    [{ IDEMPOTENCY_RESULT_TTL_SECONDS: '9000000000000' }, 'IDEMPOTENCY_RESULT_TTL_SECONDS'],
    [{ IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: '31536001' }, 'IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS'],
    [{ TOKEN_RATE_LIMIT: '1000000001' }, 'TOKEN_RATE_LIMIT'],
    [{ TOKEN_MAX_OUTSTANDING: '1000000001' }, 'TOKEN_MAX_OUTSTANDING'],
    [{ NODE_ENV: 'production', TOKEN_SECRET: SECRET }, 'REDIS_URL'],
    [{ MAX_CONNECTIONS_PER_ADDRESS: '-1' }, 'MAX_CONNECTIONS_PER_ADDRESS'],
    [{ MAX_CONNECTIONS_PER_ADDRESS: '1000000001' }, 'MAX_CONNECTIONS_PER_ADDRESS'],
    [{ REDIS_ALLOW_EVICTION: 'yes' }, 'REDIS_ALLOW_EVICTION'],
    [{ ORDER_EVENTS_QUEUE: 'bullmq' }, 'ORDER_EVENTS_QUEUE'],
    [{ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_SENTINEL_NAME: 'tokens' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 's', REDIS_SENTINEL_NAME: 'tokens' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'a b' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 't' }, 'REDIS_URL'],
    [
      { REDIS_CLUSTER_NODES: 'a:1', REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 't' },
      'REDIS_CLUSTER_NODES',
    ],
    [{ REDIS_MIN_REPLICAS: '1' }, 'REDIS_MIN_REPLICAS'],
    [{ REDIS_URL: 'redis://a:1', REDIS_MIN_REPLICAS: '-1' }, 'REDIS_MIN_REPLICAS'],
    [{ REDIS_URL: 'redis://a:1', REDIS_MIN_REPLICAS: '101' }, 'REDIS_MIN_REPLICAS'],
    [{ REDIS_REPLICA_TIMEOUT_MS: '0' }, 'REDIS_REPLICA_TIMEOUT_MS'],
    [{ REDIS_REPLICA_TIMEOUT_MS: '1501' }, 'REDIS_REPLICA_TIMEOUT_MS'],
  ])('refuses %j, naming %s', (env, name) => {
    expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(ConfigError);
    expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(new RegExp(`- ${name} `));
  });

  it('accepts every upper bound itself', () => {
    expect(
      loadConfig({
        TOKEN_TTL_SECONDS: '31536000',
        TOKEN_MAX_TTL_SECONDS: '31536000',
        TOKEN_RATE_WINDOW_SECONDS: '86400',
        TOKEN_RATE_LIMIT: '1000000000',
        TOKEN_MAX_OUTSTANDING: '1000000000',
        IDEMPOTENCY_RESULT_TTL_SECONDS: '31536000',
        IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: '31536000',
        MAX_CONNECTIONS_PER_ADDRESS: '1000000000',
        REDIS_URL: 'redis://a:1',
        REDIS_MIN_REPLICAS: '100',
        REDIS_REPLICA_TIMEOUT_MS: '1500',
      }),
    ).toMatchObject({ tokenRateWindowSeconds: 86_400, tokenRateLimit: 1_000_000_000 });
  });

  it('accepts production with a secret and Redis, Cluster or Sentinel', () => {
    for (const store of [
      { REDIS_URL: 'redis://r:6379' },
      { REDIS_CLUSTER_NODES: 'r:7000' },
      { REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'tokens' },
    ])
      expect(
        loadConfig({ NODE_ENV: 'production', TOKEN_SECRET: SECRET, ...store }).production,
      ).toBe(true);
  });
});
