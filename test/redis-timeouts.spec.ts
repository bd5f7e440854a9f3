import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import {
  fetchToken,
  placeOrder,
  type RunningApp,
  sleep,
  startService,
} from './support/app-harness.js';
import { connectRedis, unusedTokens } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

const RATE_LIMIT = 10;

/**
 * docs/CONTRACT.md, "Store faults": a command that timed out after it was sent is answered 503,
 * and Redis running it later (it was paused, not gone) changes nothing: the token works as a
 * first use afterwards and a `GET /tokens` answered 503 stays uncharged.
 */
describe('Redis paused past the command time-out', () => {
  let server: RedisServerHandle;
  let service: RunningApp;
  let redis: Redis;
  let pid: number;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
    pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))![1]);
    service = await startService({
      REDIS_URL: server.url,
      TOKEN_RATE_LIMIT: String(RATE_LIMIT),
      TOKEN_MAX_OUTSTANDING: String(RATE_LIMIT),
    });
  });
  afterAll(async () => {
    await service.close();
    await redis.quit();
    await server.stop();
  });

  const postOrder = (token: string) => placeOrder(service.url, token);
  const orders = () => service.app.get(OrdersService).count;

  it('answers 503 while paused; after SIGCONT the tokens work as first uses and nothing is charged', async () => {
    const tokens = [
      await fetchToken(service.url, { scope: 'orders.create' }),
      await fetchToken(service.url, { scope: 'orders.create' }),
    ];
    const ordersBefore = orders();

    process.kill(pid, 'SIGSTOP');
    let answers: request.Response[];
    try {
      const started = Date.now();
      answers = await Promise.all([
        ...tokens.map(postOrder),
        request(service.url).get('/tokens'),
        request(service.url).get('/tokens').query({ scope: 'orders.create' }),
      ]);
      expect(Date.now() - started).toBeLessThan(5_000);
      await sleep(1_000); // well past every script's deadline before Redis reads them
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(answer.headers['idempotency-token-consumed']).toBeUndefined();
    }
    await redis.ping(); // Redis has run everything queued before it
    expect(orders()).toBe(ordersBefore);

    const firsts = [];
    for (const token of tokens) {
      const first = await postOrder(token);
      expect(first.status).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      firsts.push(first);
    }
    expect(orders()).toBe(ordersBefore + 2);
    const copy = await postOrder(tokens[0]);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(copy.body.id).toBe(firsts[0].body.id);
    expect(orders()).toBe(ordersBefore + 2);

    // Two grants before the pause, none for the two 503s: this one leaves RATE_LIMIT - 3.
    const next = await request(service.url).get('/tokens');
    expect(next.status).toBe(200);
    expect(next.headers['ratelimit']).toMatch(new RegExp(`^"tokens";r=${RATE_LIMIT - 3};`));
    expect(await unusedTokens(redis)).toHaveLength(1);
  }, 30_000);
});
