import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import { fetchToken, type RunningApp, startService } from './support/app-harness.js';
import { type RedisClusterHandle, startRedisCluster } from './support/redis-harness.js';

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'];

/** The service itself on a 3-master Redis Cluster, configured through REDIS_CLUSTER_NODES. */
describe('the service on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let instances: RunningApp[];

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const nodes = cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',');
    const env = {
      REDIS_CLUSTER_NODES: nodes,
      API_KEYS: KEYS.map((key, i) => `user${i}:${key}`).join(','),
    };
    instances = [await startService(env), await startService(env, { adapter: 'express' })];
  }, 60_000);
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await cluster.stop();
  });

  it('issues, consumes once and replays across instances, for callers spread over the slots', async () => {
    expect((await request(instances[0].url).get('/health')).status).toBe(200);
    expect((await request(instances[1].url).get('/health')).status).toBe(200);
    // One caller's keys share a hash tag; five callers land on different slots and nodes.
    for (const [i, apiKey] of KEYS.entries()) {
      const token = await fetchToken(instances[i % 2].url, { scope: 'orders.create', apiKey });
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          request(instances[j % 2].url)
            .post('/orders')
            .set('Authorization', `Bearer ${apiKey}`)
            .set('Idempotency-Token', token)
            .send({ item: `item-${i}`, quantity: 1 }),
        ),
      );
      const originals = responses.filter(
        (r) => r.status === 201 && !r.headers['idempotent-replayed'],
      );
      expect(originals).toHaveLength(1);
      for (const r of responses) expect([201, 409]).toContain(r.status);
    }
    expect(instances.reduce((sum, { app }) => sum + app.get(OrdersService).count, 0)).toBe(
      KEYS.length,
    );
  });

  it('reports 503 on /health within 5 s once the Cluster is down', async () => {
    await cluster.stop();
    const started = Date.now();
    const response = await request(instances[0].url).get('/health').timeout(6000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      checks: { redis: { status: 'down' } },
    });
  });
});
