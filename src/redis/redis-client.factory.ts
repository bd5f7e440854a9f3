import { createRedisClient as connect } from '@idempotency-tokens/nestjs';
import type { Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';

/**
 * A client for `REDIS_URL` or `REDIS_CLUSTER_NODES`, with the module's fail-fast settings (no
 * offline queue, 2 s command time-out, no silent resend, reconnect every second); `undefined`
 * when neither is set. The service owns it: health checks use it too.
 */
export function createRedisClient(
  config: Pick<AppConfig, 'redisUrl' | 'redisClusterNodes'>,
): Redis | Cluster | undefined {
  if (config.redisUrl) return connect(config.redisUrl);
  if (config.redisClusterNodes) return connect({ cluster: config.redisClusterNodes });
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
