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

/**
 * The unused tokens in a Redis (docs/DESIGN.md, "Keys"): the members of every caller's held
 * set, `<id><binding>`, each with the time it expires (ms since the epoch).
 */
export async function unusedTokens(redis: Redis): Promise<{ member: string; expiresAt: number }[]> {
  const unused = [];
  for (const held of await redis.keys('idem:*:h:*')) {
    const flat = await redis.zrange(held, '0', '-1', 'WITHSCORES');
    for (let i = 0; i < flat.length; i += 2)
      unused.push({ member: flat[i], expiresAt: Number(flat[i + 1]) });
  }
  return unused;
}
