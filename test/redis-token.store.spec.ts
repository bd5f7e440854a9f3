import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { RedisTokenStore } from '@idempotency-tokens/nestjs';
import { tokenStoreContract } from '@idempotency-tokens/nestjs/testing';
import { connectRedis } from './support/redis-clients.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedis,
  startRedisCluster,
} from './support/redis-harness.js';

describe('RedisTokenStore on a single Redis', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let store: RedisTokenStore;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
    store = new RedisTokenStore(redis);
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });

  for (const check of tokenStoreContract(() => store)) it(check.name, check.run);

  it('keeps every key of a token under one hash tag and the prefix', async () => {
    const ref = { tag: 'tagtagtagtag', id: 'a'.repeat(22) };
    const limits = { bucket: 'orders', rateLimit: 10, windowMs: 60_000, maxOutstanding: 10 };
    await store.issue({ ref, binding: 'b|', ttlMs: 60_000, limits });
    expect((await redis.keys('*{tagtagtagtag}*')).sort()).toEqual([
      'idem:{tagtagtagtag}:g:orders',
      'idem:{tagtagtagtag}:h:orders',
    ]);
    // The unused token is its id and binding in the held set, scored with its expiry.
    const [member, expiresAt] = await redis.zrange(
      'idem:{tagtagtagtag}:h:orders',
      '0',
      '-1',
      'WITHSCORES',
    );
    expect(member).toBe(`${ref.id}b|`);
    const now = Number((await redis.time())[0]) * 1000;
    expect(Number(expiresAt) - now).toBeGreaterThan(58_000);
    expect(Number(expiresAt) - now).toBeLessThanOrEqual(61_000);
    await store.consume({
      ref,
      bucket: 'orders',
      binding: 'b|',
      fingerprint: 'f',
      owner: 'o',
      leaseMs: 1000,
      keepMs: 60_000,
    });
    expect((await redis.keys('*{tagtagtagtag}*')).sort()).toEqual([
      'idem:{tagtagtagtag}:g:orders',
      `idem:{tagtagtagtag}:r:${ref.id}`,
    ]);
  });

  it('consumes a token that version 0.2 stored as a key of its own, once and only under its binding', async () => {
    const ref = { tag: 'tagtagtagtag', id: 'd'.repeat(22) };
    const tokenKey = `idem:{tagtagtagtag}:t:${ref.id}`;
    const held = 'idem:{tagtagtagtag}:h:orders';
    // As 0.2 issued it: the binding under the token's key, the id's first 8 characters held.
    await redis.set(tokenKey, 'b|old', 'PX', 60_000);
    await redis.zadd(held, Date.now() + 60_000, ref.id.slice(0, 8));
    const consume = (binding: string, owner: string) =>
      store.consume({
        ref,
        bucket: 'orders',
        binding,
        fingerprint: 'f',
        owner,
        leaseMs: 1000,
        keepMs: 60_000,
      });

    expect(await consume('b|other', 'o1')).toEqual({ state: 'unknown' });
    expect(await redis.exists(tokenKey)).toBe(1);
    expect(await consume('b|old', 'o2')).toEqual({ state: 'first' });
    expect(await redis.exists(tokenKey)).toBe(0);
    expect(await redis.zscore(held, ref.id.slice(0, 8))).toBeNull();
    expect(await consume('b|old', 'o3')).toEqual({ state: 'in_progress' });
  });

  it('keeps a recorded marker as one string, and still reads the hash an earlier version recorded', async () => {
    const consume = (id: string, fingerprint = 'f:1') =>
      store.consume({
        ref: { tag: 'tagtagtagtag', id },
        bucket: 'orders',
        binding: 'b|x',
        fingerprint,
        owner: 'o',
        leaseMs: 1000,
        keepMs: 60_000,
      });
    const fresh = { tag: 'tagtagtagtag', id: 'b'.repeat(22) };
    const limits = { bucket: 'orders', rateLimit: 10, windowMs: 60_000, maxOutstanding: 10 };
    await store.issue({ ref: fresh, binding: 'b|x', ttlMs: 60_000, limits });
    expect(await consume(fresh.id)).toEqual({ state: 'first' });
    expect(await store.recordOutcome(fresh, 'o', '201\n\n{}', 60_000)).toBe(true);
    expect(await store.recordOutcome(fresh, 'o', 'again', 60_000)).toBe(false);
    const key = `idem:{tagtagtagtag}:r:${fresh.id}`;
    expect(await redis.type(key)).toBe('string');
    expect(await redis.pttl(key)).toBeGreaterThan(59_000);
    expect(await consume(fresh.id)).toEqual({ state: 'done', outcome: '201\n\n{}' });
    expect(await consume(fresh.id, 'f:2')).toEqual({ state: 'mismatch' });

    const legacy = `idem:{tagtagtagtag}:r:${'c'.repeat(22)}`;
    await redis.hset(legacy, 'b', 'b|x', 'f', 'f:1', 'r', '{"status":201,"headers":{}}');
    await redis.pexpire(legacy, 60_000);
    expect(await consume('c'.repeat(22))).toEqual({
      state: 'done',
      outcome: '{"status":201,"headers":{}}',
    });
  });
  it('answers a claim its owner sends again (its answer was lost) as the first use it is', async () => {
    // What a client that resends what was in flight when its connection closed makes Redis run.
    const ref = { tag: 'tagtagtagtag', id: 'd'.repeat(22) };
    const limits = { bucket: 'orders', rateLimit: 10, windowMs: 60_000, maxOutstanding: 10 };
    await store.issue({ ref, binding: 'b|x', ttlMs: 60_000, limits });
    const consume = (owner: string) =>
      store.consume({
        ref,
        bucket: 'orders',
        binding: 'b|x',
        fingerprint: 'f',
        owner,
        leaseMs: 10_000,
        keepMs: 60_000,
      });
    expect(await consume('o-1')).toEqual({ state: 'first' });
    expect(await consume('o-1')).toEqual({ state: 'first' });
    expect(await consume('o-2')).toEqual({ state: 'in_progress' });

    const key = { tag: 'tagtagtagtag', id: 'e'.repeat(22) };
    const claimKey = (owner: string) =>
      store.claimKey({
        ref: key,
        binding: 'b|x',
        fingerprint: 'f',
        owner,
        leaseMs: 10_000,
        keepMs: 60_000,
        limits: { bucket: 'payments', rateLimit: 5, windowMs: 60_000 },
      });
    const first = await claimKey('o-1');
    expect(first).toMatchObject({ state: 'first', remaining: 4 });
    // Granted once: the same figures again, nothing charged twice.
    expect(await claimKey('o-1')).toMatchObject({ state: 'first', remaining: 4 });
    expect(await claimKey('o-2')).toEqual({ state: 'in_progress' });

    const message = { tag: 'tagtagtagtag', id: 'f'.repeat(22) };
    const claim = (owner: string) =>
      store.claim({ ref: message, owner, leaseMs: 10_000, keepMs: 60_000, afterCrash: 'retry' });
    expect(await claim('run-1')).toEqual({ state: 'claimed' });
    expect(await claim('run-1')).toEqual({ state: 'claimed' });
    expect(await claim('run-2')).toEqual({ state: 'in_progress' });
  });
});

describe('RedisTokenStore on a 3-master Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let client: Cluster;
  let store: RedisTokenStore;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = (await connectRedis(cluster)) as Cluster;
    store = new RedisTokenStore(client);
  }, 60_000);
  afterAll(async () => {
    await client.quit();
    await cluster.stop();
  });

  for (const check of tokenStoreContract(() => store)) it(check.name, check.run);
});
