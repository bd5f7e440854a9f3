import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** The service's configuration, read once from the environment at start (docs/CONTRACT.md, Operations). */
export interface AppConfig {
  production: boolean;
  port: number;
  redisUrl?: string;
  redisClusterNodes?: HostPort[];
  /** Sentinel deployments: the sentinels to ask, and the name of the primary they watch. */
  redisSentinels?: HostPort[];
  redisSentinelName?: string;
  /** Replicas a consume must reach before it counts (`WAIT`); 0: none. */
  redisMinReplicas: number;
  /** How long a consume waits for them before the answer is 503. */
  redisReplicaTimeoutMs: number;
  tokenSecret: string;
  /** True when no TOKEN_SECRET was given and one was made up for this process. */
  tokenSecretGenerated: boolean;
  tokenTtlSeconds: number;
  maxTokenTtlSeconds: number;
  maxBatch: number;
  tokenRateLimit: number;
  tokenRateWindowSeconds: number;
  tokenMaxOutstanding: number;
  resultTtlSeconds: number;
  inProgressTtlSeconds: number;
  /** API key → subject; empty: anonymous callers. */
  apiKeys: Map<string, string>;
  /** What Fastify's `trustProxy` takes; `false`: the socket's address is the client's. */
  trustProxy: boolean | number | string[];
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  logLevel: LogLevel;
  /** Open connections one client address may hold; 0: no cap. */
  maxConnectionsPerAddress: number;
  /** Start on a Redis whose `maxmemory-policy` can evict keys (a warning instead of a refusal). */
  redisAllowEviction: boolean;
  /**
   * The demo's "order placed" queue: `auto` (BullMQ on the service's Redis, in process without
   * one), `in-process`, or `off` (no events, no confirmations: POST /orders does only the token
   * work, as benchmarks and round-trip counts want it).
   */
  orderEventsQueue: OrderEventsQueue;
}

export interface HostPort {
  host: string;
  port: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const ORDER_EVENTS_QUEUES = ['auto', 'in-process', 'off'] as const;
export type OrderEventsQueue = (typeof ORDER_EVENTS_QUEUES)[number];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** An empty variable (`PORT=` in an env file) counts as unset. */
const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));

/** Upper bounds: past them a value passes as a number but breaks every request (timers, TTLs). */
const A_YEAR_SECONDS = 31_536_000;
const A_DAY_SECONDS = 86_400;
const MAX_LIMIT = 1_000_000_000;
/** Replicas a deployment may ask to hold a write: more than any real topology has. */
const MAX_REPLICAS = 100;
/**
 * A consume waits at most this long for its replicas: its WAIT must answer within the client's
 * 2 s command time-out, behind the script and whatever else is queued on the connection.
 */
const MAX_REPLICA_TIMEOUT_MS = 1_500;
/** Tokens in one `GET /tokens?count=`: a batch is one script; a thousand keys keep it short. */
const MAX_BATCH = 1_000;

const wholeNumber = (fallback: number, min: 0 | 1, max: number, what = String(max)) =>
  optionalText
    .transform((value) => value ?? String(fallback))
    .pipe(
      z
        .string()
        .regex(/^[0-9]+$/, `must be a ${min === 1 ? 'positive ' : ''}whole number`)
        .transform(Number)
        .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${what}`),
    );
const positiveWhole = (fallback: number, max: number, what?: string) =>
  wholeNumber(fallback, 1, max, what);

const flag = optionalText.refine(
  (value) => value === undefined || value === 'true' || value === 'false',
  'must be true or false',
);

const hostPort = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;
const hostPortList = optionalText.refine(
  (nodes) => nodes === undefined || nodes.split(',').every((node) => hostPort.test(node.trim())),
  'must be a comma-separated list of host:port',
);

const schema = z
  .object({
    NODE_ENV: z.string().optional(),
    PORT: positiveWhole(3000, 65_535, '65535 (a TCP port)'),
    REDIS_URL: optionalText.refine(
      (url) => url === undefined || /^rediss?:\/\/[^\s]+$/.test(url),
      'must look like redis://host:port/db (or rediss:// for TLS)',
    ),
    REDIS_CLUSTER_NODES: hostPortList,
    REDIS_SENTINELS: hostPortList,
    REDIS_SENTINEL_NAME: optionalText.refine(
      (name) => name === undefined || /^[A-Za-z0-9._-]{1,100}$/.test(name),
      'must be the name the sentinels monitor the primary under (letters, digits, . _ -)',
    ),
    REDIS_MIN_REPLICAS: wholeNumber(0, 0, MAX_REPLICAS),
    REDIS_REPLICA_TIMEOUT_MS: positiveWhole(500, MAX_REPLICA_TIMEOUT_MS),
    TOKEN_SECRET: optionalText.refine(
      (secret) => secret === undefined || secret.length >= 32,
      'must be at least 32 characters (e.g. `openssl rand -base64 48`)',
    ),
    TOKEN_TTL_SECONDS: positiveWhole(900, A_YEAR_SECONDS, '31536000 (a year)'),
    TOKEN_MAX_TTL_SECONDS: positiveWhole(86_400, A_YEAR_SECONDS, '31536000 (a year)'),
    TOKEN_MAX_BATCH: positiveWhole(20, MAX_BATCH, String(MAX_BATCH)),
    TOKEN_RATE_LIMIT: positiveWhole(60, MAX_LIMIT, '1000000000'),
    TOKEN_RATE_WINDOW_SECONDS: positiveWhole(60, A_DAY_SECONDS, '86400 (a day)'),
    TOKEN_MAX_OUTSTANDING: positiveWhole(100, MAX_LIMIT, '1000000000'),
    IDEMPOTENCY_RESULT_TTL_SECONDS: positiveWhole(86_400, A_YEAR_SECONDS, '31536000 (a year)'),
    IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: positiveWhole(60, A_YEAR_SECONDS, '31536000 (a year)'),
    API_KEYS: optionalText.refine(
      (keys) =>
        keys === undefined ||
        keys.split(',').every((entry) => /^[^:\s]+:[^:\s,]+$/.test(entry.trim())),
      'must be a comma-separated list of subject:key, e.g. alice:key-a,bob:key-b',
    ),
    TRUST_PROXY: optionalText.refine(
      (value) =>
        value === undefined ||
        /^(true|false|[0-9]+|[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*)$/.test(value.replaceAll(' ', '')),
      'must be true, false, a hop count, or comma-separated addresses/CIDRs',
    ),
    MAX_CONNECTIONS_PER_ADDRESS: wholeNumber(256, 0, MAX_LIMIT, '1000000000 (0: no cap)'),
    REDIS_ALLOW_EVICTION: flag,
    LOG_LEVEL: optionalText.refine(
      (level) => level === undefined || (LOG_LEVELS as readonly string[]).includes(level),
      `must be one of ${LOG_LEVELS.join(', ')}`,
    ),
    ORDER_EVENTS_QUEUE: optionalText.refine(
      (queue) => queue === undefined || (ORDER_EVENTS_QUEUES as readonly string[]).includes(queue),
      `must be one of ${ORDER_EVENTS_QUEUES.join(', ')}`,
    ),
  })
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (env.TOKEN_TTL_SECONDS > env.TOKEN_MAX_TTL_SECONDS) {
      issue(
        'TOKEN_TTL_SECONDS',
        `must not exceed TOKEN_MAX_TTL_SECONDS (${env.TOKEN_MAX_TTL_SECONDS})`,
      );
    }
    // A marker kept shorter than its lease would vanish while its request (or message) still runs.
    if (env.IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS > env.IDEMPOTENCY_RESULT_TTL_SECONDS) {
      issue(
        'IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS',
        `must not exceed IDEMPOTENCY_RESULT_TTL_SECONDS (${env.IDEMPOTENCY_RESULT_TTL_SECONDS})`,
      );
    }
    const keys = (env.API_KEYS?.split(',') ?? []).map((entry) => entry.trim().split(':')[1]);
    const repeated = keys.filter((key, i) => keys.indexOf(key) !== i);
    if (repeated.length > 0) {
      issue(
        'API_KEYS',
        `lists a key for two subjects (${repeated.length} such key(s)): a key must name one caller`,
      );
    }
    const stores = [env.REDIS_URL, env.REDIS_CLUSTER_NODES, env.REDIS_SENTINELS];
    if (stores.filter(Boolean).length > 1) {
      issue(
        env.REDIS_URL ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES',
        'set one of REDIS_URL (single Redis), REDIS_CLUSTER_NODES (Cluster) or REDIS_SENTINELS (Sentinel), not several',
      );
    }
    if (Boolean(env.REDIS_SENTINELS) !== Boolean(env.REDIS_SENTINEL_NAME)) {
      issue(
        env.REDIS_SENTINELS ? 'REDIS_SENTINEL_NAME' : 'REDIS_SENTINELS',
        'REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: the sentinels, and the name of the primary they watch',
      );
    }
    if (env.REDIS_MIN_REPLICAS > 0 && !stores.some(Boolean)) {
      issue(
        'REDIS_MIN_REPLICAS',
        'needs a Redis with replicas (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS): the in-memory store has none',
      );
    }
    if (production && !env.TOKEN_SECRET) {
      issue(
        'TOKEN_SECRET',
        'is required under NODE_ENV=production: every instance must sign with the same secret',
      );
    }
    if (production && !stores.some(Boolean)) {
      issue(
        'REDIS_URL',
        'is required under NODE_ENV=production (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS): the in-memory store is single-instance',
      );
    }
  });

/** Reads and checks the environment; throws a {@link ConfigError} naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const given = env[name] === undefined ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `- ${name} ${issue.message}${given}`;
    });
    throw new ConfigError(
      `Invalid configuration; fix these environment variables (see .env.example):\n${lines.join('\n')}`,
    );
  }
  const e = parsed.data;
  return {
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    redisUrl: e.REDIS_URL,
    redisClusterNodes: parseHostPorts(e.REDIS_CLUSTER_NODES),
    redisSentinels: parseHostPorts(e.REDIS_SENTINELS),
    redisSentinelName: e.REDIS_SENTINEL_NAME,
    redisMinReplicas: e.REDIS_MIN_REPLICAS,
    redisReplicaTimeoutMs: e.REDIS_REPLICA_TIMEOUT_MS,
    tokenSecret: e.TOKEN_SECRET ?? randomBytes(48).toString('base64url'),
    tokenSecretGenerated: e.TOKEN_SECRET === undefined,
    tokenTtlSeconds: e.TOKEN_TTL_SECONDS,
    maxTokenTtlSeconds: e.TOKEN_MAX_TTL_SECONDS,
    maxBatch: e.TOKEN_MAX_BATCH,
    tokenRateLimit: e.TOKEN_RATE_LIMIT,
    tokenRateWindowSeconds: e.TOKEN_RATE_WINDOW_SECONDS,
    tokenMaxOutstanding: e.TOKEN_MAX_OUTSTANDING,
    resultTtlSeconds: e.IDEMPOTENCY_RESULT_TTL_SECONDS,
    inProgressTtlSeconds: e.IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS,
    apiKeys: new Map(
      (e.API_KEYS?.split(',') ?? []).map((entry) => {
        const [subject, key] = entry.trim().split(':');
        return [key, subject] as const;
      }),
    ),
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    logLevel: (e.LOG_LEVEL ?? 'info') as LogLevel,
    maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
    redisAllowEviction: e.REDIS_ALLOW_EVICTION === 'true',
    orderEventsQueue: (e.ORDER_EVENTS_QUEUE ?? 'auto') as OrderEventsQueue,
  };
}

function parseHostPorts(list: string | undefined): HostPort[] | undefined {
  return list?.split(',').map((node) => {
    const [host, port] = node.trim().split(':');
    return { host, port: Number(port) };
  });
}

function parseTrustProxy(value: string | undefined): AppConfig['trustProxy'] {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^[0-9]+$/.test(value)) return Number(value);
  return value.split(',').map((address) => address.trim());
}
