import type { Cluster, Redis } from 'ioredis';
import { createRedisClient, waitForReady } from '../../src/redis/redis-client.factory.js';

/** A client configured as the service configures its own, connected before it is handed out. */
export async function connectRedis(
  target: { url: string } | { nodes: { host: string; port: number }[] },
): Promise<Redis | Cluster> {
  const client = createRedisClient(
    'url' in target ? { redisUrl: target.url } : { redisClusterNodes: target.nodes },
  )!;
  if (!(await waitForReady(client, 10_000))) {
    client.disconnect();
    throw new Error('Test Redis did not become ready within 10 s');
  }
  return client;
}
