import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { RedisTokenStore, StoreUnavailableError } from '@idempotency-tokens/nestjs';
import { fetchToken, type RunningApp, startService } from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

const FILLER = 'test:filler';

/**
 * docs/CONTRACT.md, "Store faults": at `maxmemory` under `noeviction`, issuing and consuming
 * answer 503 and nothing is written past the limit (every script's first write is deny-oom).
 */
describe('Redis at maxmemory (noeviction)', () => {
  let server: RedisServerHandle;
  let service: RunningApp;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
    service = await startService({ REDIS_URL: server.url });
  });
  afterAll(async () => {
    await service.close();
    await redis.quit();
    await server.stop();
  });

  /** maxmemory just above what is used, then one key grown up to it: deny-oom commands now fail. */
  async function fillUp(): Promise<void> {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    const used = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    await redis.config('SET', 'maxmemory', String(used + 256 * 1024));
    const chunk = 'x'.repeat(16 * 1024);
    for (let appended = 0; ; appended++) {
      const error = await redis.append(FILLER, chunk).then(
        () => undefined,
        (refused: Error) => refused,
      );
      if (error) return expect(error.message).toMatch(/^OOM/);
      expect(appended).toBeLessThan(100);
    }
  }
  async function freeUp(): Promise<void> {
    await redis.del(FILLER);
    await redis.config('SET', 'maxmemory', '0');
  }
  const appKeys = async () => (await redis.keys('idem:*')).sort();

  const postOrder = (token: string) =>
    request(service.url)
      .post('/orders')
      .set('Idempotency-Token', token)
      .send({ item: 'a', quantity: 1 });

  it('refuses to issue and to consume with 503, writes nothing, and the token works once memory is free', async () => {
    const token = await fetchToken(service.url, { scope: 'orders.create' });
    await fillUp();
    try {
      const before = await appKeys();
      const issued = await request(service.url).get('/tokens').query({ scope: 'orders.create' });
      expect(issued.status).toBe(503);
      expect(issued.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(Number(issued.headers['retry-after'])).toBeGreaterThanOrEqual(1);

      const used = await postOrder(token);
      expect(used.status).toBe(503);
      expect(used.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(used.headers['idempotency-token-consumed']).toBeUndefined();

      expect(await appKeys()).toEqual(before);
    } finally {
      await freeUp();
    }
    expect((await postOrder(token)).status).toBe(201);
    expect((await request(service.url).get('/tokens')).status).toBe(200);
  }, 30_000);

  it('refuses to record an outcome past the limit: the marker stays as it was', async () => {
    const store = new RedisTokenStore(redis, { keyPrefix: 'oom:' });
    const ref = { tag: 'oomoomoomoom', id: 'o'.repeat(22) };
    const limits = { bucket: '', rateLimit: 10, windowMs: 60_000, maxOutstanding: 10 };
    await store.issue({ ref, binding: 'b|', ttlMs: 60_000, limits });
    const consume = { ref, bucket: '', binding: 'b|', fingerprint: 'f', leaseMs: 60_000 };
    expect(await store.consume({ ...consume, owner: 'o', keepMs: 60_000 })).toEqual({
      state: 'first',
    });
    await fillUp();
    try {
      await expect(store.recordOutcome(ref, 'o', 'y'.repeat(10_000), 60_000)).rejects.toThrow(
        StoreUnavailableError,
      );
      expect(await redis.hkeys(`oom:{${ref.tag}}:r:${ref.id}`)).toEqual(['b', 'f', 'o', 'l', 'e']);
    } finally {
      await freeUp();
    }
    expect(await store.recordOutcome(ref, 'o', 'y', 60_000)).toBe(true);
  }, 30_000);
});
