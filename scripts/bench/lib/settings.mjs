/**
 * What the benchmark runs with: the knobs read from the environment, and the one configuration
 * every server gets (the service's variables; the peer and the bare app read PORT and REDIS_URL).
 */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** Fixed, so tokens stay valid across both servers; 48 characters, like `openssl rand -base64 36`. */
export const BENCH_SECRET = 'bench-only-secret-do-not-use-in-production-00001';
if (BENCH_SECRET.length !== 48) throw new Error('BENCH_SECRET must be 48 characters');

/** High enough that the limiter never refuses: the benchmark measures its cost, not its refusals. */
export const NEVER_LIMITED = 100_000_000;

/** The demo handler's scope and a typical order body. */
export const SCOPE = 'orders.create';
export const ORDER_BODY = '{"item":"book","quantity":2}';

/** Only loopback: the benchmark never sends traffic anywhere else. */
export const HOST = '127.0.0.1';

function wholeNumber(env, name, fallback, { min, max }) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** A comma-separated subset of `known` (all of them when unset), in `known`'s order. */
function subset(env, name, known) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return known;
  const wanted = raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const unknown = wanted.filter((item) => !known.includes(item));
  if (unknown.length > 0)
    throw new Error(`${name}: unknown ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  return known.filter((item) => wanted.includes(item));
}

/**
 * The knobs documented in docs/PERFORMANCE.md. `servers` and `scenarios` are the names
 * BENCH_SERVERS and BENCH_SCENARIOS may pick from.
 */
export function readOptions({ servers, scenarios }, env = process.env) {
  return {
    servers: subset(env, 'BENCH_SERVERS', servers),
    scenarios: subset(env, 'BENCH_SCENARIOS', scenarios),
    durationSeconds: wholeNumber(env, 'BENCH_DURATION', 10, { min: 1, max: 600 }),
    rounds: wholeNumber(env, 'BENCH_ROUNDS', 3, { min: 1, max: 50 }),
    connections: wholeNumber(env, 'BENCH_CONNECTIONS', 50, { min: 1, max: 1000 }),
    /**
     * Requests per second for all connections together; 0 (default): as fast as the server answers.
     * A fixed rate below saturation is how latency targets are measured: flat out, the mean
     * latency of a closed loop is just connections / throughput.
     */
    rate: wholeNumber(env, 'BENCH_RATE', 0, { min: 0, max: 1_000_000 }),
    /** `BENCH_MEMORY=0` skips the Redis memory measurement (it takes a few seconds). */
    memory: env.BENCH_MEMORY !== '0',
    /** The servers' LOG_LEVEL; unset: the service's default (one JSON line per request). */
    logLevel: env.BENCH_LOG_LEVEL || undefined,
    /** `BENCH_PIN=0`: servers not pinned to one core (see pinning in lib/orchestration.mjs). */
    pin: env.BENCH_PIN !== '0',
    /** Where latest.json and the servers' stderr go; a test points it elsewhere. */
    resultsDir: env.BENCH_RESULTS_DIR || RESULTS_DIR,
  };
}

/**
 * The environment of both servers. Built from scratch rather than inherited, so that a
 * developer's exported API_KEYS, TRUST_PROXY or NODE_OPTIONS cannot change what is measured.
 */
export function serverEnv({ port, redisUrl, logLevel }) {
  return {
    ...(logLevel === undefined ? {} : { LOG_LEVEL: logLevel }),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'production',
    PORT: String(port),
    REDIS_URL: redisUrl,
    TOKEN_SECRET: BENCH_SECRET,
    TOKEN_RATE_LIMIT: String(NEVER_LIMITED),
    TOKEN_MAX_OUTSTANDING: String(NEVER_LIMITED),
    TOKEN_RATE_WINDOW_SECONDS: '60',
    TOKEN_TTL_SECONDS: '900',
    IDEMPOTENCY_RESULT_TTL_SECONDS: '86400',
    IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS: '60',
    API_KEYS: '',
    TRUST_PROXY: 'false',
    // The demo's "order placed" events (BullMQ on this Redis) are the demo's own work, not the
    // idempotency path the peers are compared on: their Redis commands would count as round trips.
    ORDER_EVENTS_QUEUE: 'off',
  };
}

/**
 * 1 000 API-key callers with the SPEC's default limits (60 tokens a minute, 100 unused), for
 * the issuance scenario where the limiter refuses most requests after the first seconds.
 */
export const CALLERS = Array.from({ length: 1_000 }, (_, i) => ({
  subject: `caller-${i}`,
  key: `bench-key-${i}`,
}));
export const CALLERS_ENV = {
  API_KEYS: CALLERS.map(({ subject, key }) => `${subject}:${key}`).join(','),
  TOKEN_RATE_LIMIT: '60',
  TOKEN_RATE_WINDOW_SECONDS: '60',
  TOKEN_MAX_OUTSTANDING: '100',
};
