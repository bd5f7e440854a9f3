import { createRedisClient as connect, type RedisConnection } from '@idempotency-tokens/nestjs';
import type { Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';

export type RedisConfig = Pick<
  AppConfig,
  'redisUrl' | 'redisClusterNodes' | 'redisSentinels' | 'redisSentinelName'
>;

/** Where the configuration says Redis is: `REDIS_URL`, `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS`. */
export function redisConnection(config: RedisConfig): RedisConnection | undefined {
  if (config.redisUrl) return config.redisUrl;
  if (config.redisClusterNodes) return { cluster: config.redisClusterNodes };
  if (config.redisSentinels)
    return { sentinels: config.redisSentinels, name: config.redisSentinelName };
  return undefined;
}

/**
 * A client for the configured Redis, with the module's fail-fast settings (no offline queue,
 * 2 s command time-out, no silent resend, reconnect every second); `undefined` without one. The
 * service owns it: health checks use it too. Through Sentinel, every reconnect asks the
 * sentinels for the primary, so after a failover the client follows the promoted replica.
 */
export function createRedisClient(config: RedisConfig): Redis | Cluster | undefined {
  const connection = redisConnection(config);
  return connection === undefined ? undefined : connect(connection);
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
