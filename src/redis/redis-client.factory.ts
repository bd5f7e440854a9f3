import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';

/**
 * Fail fast rather than queue: with Redis unreachable a command fails at once (no offline queue)
 * or after `commandTimeout`, so a request gets 503 within seconds instead of hanging. A command
 * lost with its connection is never resent behind the caller's back: the caller already answered
 * 503, and a silent resend could consume a token nobody is waiting for. Reconnects go on every
 * second at most, so the service recovers by itself when Redis comes back.
 */
export const FAIL_FAST_OPTIONS = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 1_000),
} satisfies RedisOptions;

/** A client for `REDIS_URL` or `REDIS_CLUSTER_NODES`; `undefined` when neither is set. */
export function createRedisClient(
  config: Pick<AppConfig, 'redisUrl' | 'redisClusterNodes'>,
): Redis | Cluster | undefined {
  if (config.redisUrl) return new Redis(config.redisUrl, FAIL_FAST_OPTIONS);
  if (config.redisClusterNodes) {
    const { retryStrategy, enableOfflineQueue, ...redisOptions } = FAIL_FAST_OPTIONS;
    return new Cluster(config.redisClusterNodes, {
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      redisOptions,
    });
  }
  return undefined;
}

/**
 * Resolves `true` once the client is ready, `false` after `timeoutMs`. Without an offline queue,
 * commands sent before the connection is ready fail, so starters wait here first.
 */
export async function waitForReady(client: Redis | Cluster, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  let onReady: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => client.once('ready', (onReady = () => resolve(true)))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (onReady) client.off('ready', onReady);
  return ready;
}
