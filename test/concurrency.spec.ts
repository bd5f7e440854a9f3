import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import { fetchToken, type RunningApp, startService } from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/**
 * The double-submit at scale: 100 copies of one `POST /orders` at once, spread over two app
 * instances (one on Fastify, one on Express) that share one Redis.
 */
describe('100 concurrent copies over two instances', () => {
  let server: RedisServerHandle;
  let instances: RunningApp[];

  beforeAll(async () => {
    server = await startRedis();
    instances = [
      await startService({ REDIS_URL: server.url }, { adapter: 'fastify' }),
      await startService({ REDIS_URL: server.url }, { adapter: 'express' }),
    ];
  });
  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.close()));
    await server.stop();
  });

  const ordersCreated = () =>
    instances.reduce((sum, { app }) => sum + app.get(OrdersService).count, 0);

  const burst = (token: string) =>
    Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        request(instances[i % 2].url)
          .post('/orders')
          .set('Idempotency-Token', token)
          .send({ item: 'pay', quantity: 1 }),
      ),
    );

  it('runs the handler exactly once; every other answer is a replay of it or in progress', async () => {
    const token = await fetchToken(instances[0].url, { scope: 'orders.create' });
    const before = ordersCreated();
    const responses = await burst(token);
    expect(ordersCreated() - before).toBe(1);

    const originals = responses.filter(
      (r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined,
    );
    expect(originals).toHaveLength(1);
    const orderId = originals[0].body.id;
    for (const response of responses) {
      expect(response.headers['idempotency-token-consumed']).toBe('true');
      if (response.status === 201) {
        expect(response.body.id).toBe(orderId);
      } else {
        expect(response.status).toBe(409);
        expect(response.body.code).toBe('REQUEST_IN_PROGRESS');
        expect(response.headers['retry-after']).toBe('1');
      }
    }

    // Once the first has finished, every copy on either instance gets its answer again.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const copies = await burst(token);
    expect(ordersCreated() - before).toBe(1);
    for (const copy of copies) {
      expect(copy.status).toBe(201);
      expect(copy.headers['idempotent-replayed']).toBe('true');
      expect(copy.body.id).toBe(orderId);
    }
  });
});
