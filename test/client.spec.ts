import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createIdempotentClient } from '../client/index.js';
import type { Redis } from 'ioredis';
import { fingerprintOf } from '../src/idempotency/fingerprint.js';
import { RedisTokenStore } from '../src/idempotency/index.js';
import { encodeOutcome } from '../src/idempotency/outcome.recorder.js';
import { TokenCodec } from '../src/idempotency/tokens/token-codec.js';
import { OrdersService } from '../src/orders/orders.service.js';
import { type RunningApp, startService, TEST_SECRET } from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** The generated client and its token layer, against the live service on a real Redis. */
describe('the generated client', () => {
  let server: RedisServerHandle;
  let service: RunningApp;
  const calls: string[] = [];

  beforeAll(async () => {
    server = await startRedis();
    service = await startService({ REDIS_URL: server.url, API_KEYS: 'alice:key-a' });
  });
  afterAll(async () => {
    await service.close();
    await server.stop();
  });

  /** A client that records every HTTP call it makes. */
  const client = () =>
    createIdempotentClient({
      baseUrl: service.url,
      headers: { Authorization: 'Bearer key-a' },
      fetch: (request: Request) => {
        calls.push(`${request.method} ${new URL(request.url).pathname}`);
        return fetch(request);
      },
    });
  const orders = () => service.app.get(OrdersService).count;
  const newCalls = () => calls.splice(0);
  const ORDER = { item: 'book', quantity: 2 };

  it('fetches a token with the operation scope before an idempotent call, and only then', async () => {
    newCalls();
    const before = orders();
    const { data, response } = await client().POST('/orders', { body: ORDER });
    expect(response.status).toBe(201);
    expect(data).toMatchObject({ item: 'book', quantity: 2 });
    expect(orders() - before).toBe(1);
    expect(newCalls()).toEqual(['GET /tokens', 'POST /orders']);

    const health = await client().GET('/health');
    expect(health.response.status).toBe(200);
    expect(newCalls()).toEqual(['GET /health']);
  });

  it('waits Retry-After and resends the same token while the first request is in progress', async () => {
    const { data: issued } = await client().GET('/tokens', { params: { query: { scope: 'orders.create' } } });
    const codec = new TokenCodec(TEST_SECRET);
    const ref = codec.verify(issued!.token)!;
    // Another instance took this token and is still working on it: consume it as that instance
    // would, and record its answer 1.5 s later.
    const redis = (await connectRedis(server)) as Redis;
    const store = new RedisTokenStore(redis);
    await store.consume({
      ref, bucket: '', owner: 'other-instance', leaseMs: 60_000, keepMs: 60_000,
      binding: codec.bindingOf({ subject: 'alice', address: '' }, 'orders.create'),
      fingerprint: fingerprintOf('POST', '/orders', ORDER),
    });
    const answer = { id: 'from-the-first-request', ...ORDER, createdAt: new Date().toISOString() };
    setTimeout(() => void store.recordOutcome(ref, 'other-instance', encodeOutcome({ status: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) }), 60_000), 1500);

    newCalls();
    const started = Date.now();
    const { data, response } = await client().POST('/orders', { params: { header: { 'Idempotency-Token': issued!.token } }, body: ORDER });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    expect(data).toEqual(answer);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(newCalls()).toEqual(['POST /orders', 'POST /orders', 'POST /orders']);
    await redis.quit();
  }, 20_000);

  it.each([
    ['TOKEN_UNKNOWN', () => new TokenCodec(TEST_SECRET).create({ subject: 'alice', address: '' }).token],
    ['TOKEN_INVALID', () => 'not-a-token'],
  ])('fetches a fresh token once on %s and sends again', async (_code, badToken) => {
    newCalls();
    const before = orders();
    const { response } = await client().POST('/orders', { params: { header: { 'Idempotency-Token': badToken() } }, body: ORDER });
    expect(response.status).toBe(201);
    expect(orders() - before).toBe(1);
    expect(newCalls()).toEqual(['POST /orders', 'GET /tokens', 'POST /orders']);
  });

  it('never sends again after an answer for which the token was consumed', async () => {
    newCalls();
    const invalid = await client().POST('/orders', { body: { item: '', quantity: 0 } });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(newCalls()).toEqual(['GET /tokens', 'POST /orders']);

    const order = (await client().POST('/orders', { body: ORDER })).data!;
    const { data: issued } = await client().GET('/tokens');
    const cancel = () => client().POST('/orders/{id}/cancel', { params: { path: { id: order.id }, header: { 'Idempotency-Token': issued!.token } } });
    expect((await cancel()).response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    newCalls();
    const copy = await cancel();
    expect(copy.response.status).toBe(409);
    expect(copy.error).toMatchObject({ code: 'TOKEN_USED' });
    expect(newCalls()).toEqual([`POST /orders/${order.id}/cancel`]);
  });
});
