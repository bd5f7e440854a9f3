import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** How the module may be told to connect, when it is to own the client: a URL, ioredis options, or Cluster nodes. */
export type RedisConnection =
  string | RedisOptions | { cluster: ClusterNode[]; options?: ClusterOptions };

/**
 * Fail fast rather than queue: with Redis unreachable a command fails at once (no offline queue)
 * or after `commandTimeout`, so a request gets 503 within seconds instead of hanging. A command
 * lost with its connection is never resent behind the caller's back: the caller already answered
 * 503, and a silent resend could consume a token nobody is waiting for. Reconnects go on every
 * second at most, so an app recovers by itself when Redis comes back.
 */
export const FAIL_FAST_REDIS_OPTIONS = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 1_000),
} satisfies RedisOptions;

/** A client made or given: ioredis clients have `defineCommand` (checked by shape: an app may hold another copy of ioredis). */
export function isRedisClient(value: unknown): value is Redis | Cluster {
  return typeof (value as Redis | undefined)?.defineCommand === 'function';
}

/** A client for `connection`, with {@link FAIL_FAST_REDIS_OPTIONS} under the options given. */
export function createRedisClient(connection: RedisConnection): Redis | Cluster {
  if (typeof connection === 'string') return new Redis(connection, FAIL_FAST_REDIS_OPTIONS);
  if ('cluster' in connection) {
    const { retryStrategy, enableOfflineQueue, ...redisOptions } = FAIL_FAST_REDIS_OPTIONS;
    return new Cluster(connection.cluster, {
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      ...connection.options,
      redisOptions: { ...redisOptions, ...connection.options?.redisOptions },
    });
  }
  return new Redis({ ...FAIL_FAST_REDIS_OPTIONS, ...connection });
}

/** Closes a client: politely when it answers, at once when it does not. */
export async function closeRedisClient(client: Redis | Cluster): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
