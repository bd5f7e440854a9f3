import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { withIdempotency } from '@idempotency-tokens/client';
import { unissuedToken } from '@idempotency-tokens/nestjs/testing';
import type { Redis } from 'ioredis';
import { createClient } from '../client/index.js';
import { OrdersService } from '../src/orders/orders.service.js';
import { PaymentsService } from '../src/payments/payments.service.js';
import { Gate, ScenariosModule } from './fixtures/scenarios.module.js';
import {
  fetchToken,
  type RunningApp,
  startModule,
  startService,
  TEST_SECRET,
} from './support/app-harness.js';
import { startLossyProxy } from './support/lossy-proxy.js';
import { connectRedis } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

const ORDER = { item: 'book', quantity: 2 };

/** The service's generated client (`client/`) and the client package's token layer, against live apps on a real Redis. */
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

  /** Records every HTTP call; `lose` decides which answers are lost on the way back. */
  const recordingFetch =
    (lose: (request: Request, response: Response) => Response | 'lost' = (_, r) => r) =>
    async (request: Request): Promise<Response> => {
      calls.push(`${request.method} ${new URL(request.url).pathname}`);
      const response = await fetch(request);
      const delivered = lose(request, response);
      if (delivered === 'lost') throw new TypeError('fetch failed: the connection was reset');
      return delivered;
    };
  const client = (fetchImpl = recordingFetch()) =>
    createClient({
      baseUrl: service.url,
      headers: { Authorization: 'Bearer key-a' },
      fetch: fetchImpl,
      retryDelayMs: 10,
    });
  const orders = () => service.app.get(OrdersService).count;
  const newCalls = () => calls.splice(0);

  it('fetches a token with the operation scope before an idempotent call, and only then', async () => {
    newCalls();
    const before = orders();
    const { data, response } = await client().POST('/orders', { body: ORDER });
    expect(response.status).toBe(201);
    expect(data).toMatchObject(ORDER);
    expect(orders() - before).toBe(1);
    expect(newCalls()).toEqual(['GET /tokens', 'POST /orders']);

    const health = await client().GET('/health');
    expect(health.response.status).toBe(200);
    expect(newCalls()).toEqual(['GET /health']);
  });

  it.each([
    ['a network error after the order was placed', () => 'lost' as const],
    [
      'a 502 from a gateway after the order was placed',
      () => new Response('Bad Gateway', { status: 502 }),
    ],
  ])('turns %s into a replay: same token sent again, one order', async (_what, loss) => {
    let lost = false;
    const lossy = recordingFetch((request, response) => {
      if (request.method !== 'POST' || lost) return response;
      lost = true;
      return loss();
    });
    newCalls();
    const before = orders();
    const { data, response } = await client(lossy).POST('/orders', { body: ORDER });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    expect(data).toMatchObject(ORDER);
    expect(orders() - before).toBe(1);
    expect(newCalls()).toEqual(['GET /tokens', 'POST /orders', 'POST /orders']);
  });

  it("takes the next order's token from the last answer (rotation): one GET /tokens for two orders", async () => {
    newCalls();
    const api = client();
    const first = await api.POST('/orders', { body: ORDER });
    const second = await api.POST('/orders', { body: ORDER });
    expect([first.response.status, second.response.status]).toEqual([201, 201]);
    expect(second.data!.id).not.toBe(first.data!.id);
    expect(newCalls()).toEqual(['GET /tokens', 'POST /orders', 'POST /orders']);
  });

  it('prefetches a batch of tokens (GET /tokens?count=) and spends them on the next calls', async () => {
    const urls: string[] = [];
    const api = createClient({
      baseUrl: service.url,
      headers: { Authorization: 'Bearer key-a' },
      prefetch: 3,
      fetch: async (request: Request) => {
        const url = new URL(request.url);
        urls.push(`${request.method} ${url.pathname}${url.search}`);
        return fetch(request);
      },
    });
    const placed = [];
    for (let i = 0; i < 3; i += 1) placed.push(await api.POST('/orders', { body: ORDER }));
    expect(placed.map(({ response }) => response.status)).toEqual([201, 201, 201]);
    expect(new Set(placed.map(({ data }) => data!.id)).size).toBe(3);
    expect(urls).toEqual([
      'GET /tokens?scope=orders.create&count=3',
      'POST /orders',
      'POST /orders',
      'POST /orders',
    ]);
  });

  it('sends a key operation with a UUID v4 it made, and the same key again after a lost answer', async () => {
    const keys: (string | null)[] = [];
    let lost = false;
    const lossy = recordingFetch((request, response) => {
      if (request.method !== 'POST') return response;
      keys.push(request.headers.get('idempotency-key'));
      if (lost) return response;
      lost = true;
      return 'lost';
    });
    newCalls();
    const payments = () => service.app.get(PaymentsService).count;
    const before = payments();
    const payment = { orderId: 'order-7', amountCents: 1200 };
    const { data, response } = await client(lossy).POST('/payments', { body: payment });
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    expect(data).toMatchObject(payment);
    expect(payments() - before).toBe(1);
    expect(newCalls()).toEqual(['POST /payments', 'POST /payments']); // no GET /tokens
    expect(keys[0]).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(keys[1]).toBe(keys[0]);
  });

  it('turns an answer lost on a real connection into a replay: same token resent, one order', async () => {
    const proxy = await startLossyProxy(new URL(service.url), /^POST \/orders /m);
    try {
      const before = orders();
      const api = createClient({
        baseUrl: proxy.url,
        headers: { Authorization: 'Bearer key-a' },
        retryDelayMs: 10,
      });
      const { data, response } = await api.POST('/orders', { body: ORDER });
      expect(proxy.dropped()).toBe(1);
      expect(response.status).toBe(201);
      expect(response.headers.get('idempotent-replayed')).toBe('true');
      expect(data).toMatchObject(ORDER);
      expect(orders() - before).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it.each([
    ['TOKEN_UNKNOWN', () => unissuedToken(TEST_SECRET, { subject: 'alice' })],
    ['TOKEN_INVALID', () => 'not-a-token'],
  ])('fetches a fresh token once on %s and sends again', async (_code, badToken) => {
    newCalls();
    const before = orders();
    const { response } = await client().POST('/orders', {
      params: { header: { 'Idempotency-Token': badToken() } },
      body: ORDER,
    });
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
    const token = await fetchToken(service.url, { apiKey: 'key-a' });
    const cancel = () =>
      client().POST('/orders/{id}/cancel', {
        params: { path: { id: order.id }, header: { 'Idempotency-Token': token } },
      });
    expect((await cancel()).response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    newCalls();
    const copy = await cancel();
    expect(copy.response.status).toBe(409);
    expect(copy.error).toMatchObject({ code: 'TOKEN_USED' });
    expect(newCalls()).toEqual([`POST /orders/${order.id}/cancel`]);
  });
});

describe('the token layer on any app', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let app: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
    app = await startModule(ScenariosModule.forRoot({ redis }));
  });
  afterAll(async () => {
    app.app.get(Gate).open();
    await app.close();
    redis.disconnect();
    await server.stop();
  });

  it('waits Retry-After and resends the same token with Prefer: wait while the first request is in progress', async () => {
    const token = await fetchToken(app.url);
    const sent: string[] = [];
    const layered = withIdempotency({
      baseUrl: app.url,
      operations: { 'POST /scenarios/slow': { scope: null, replay: true } },
      fetch: (request) => {
        sent.push(request.headers.get('idempotency-token')!);
        return fetch(request);
      },
    });
    const body = JSON.stringify({ n: 1 });
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-token': token },
      body,
    };
    // The first request, sent by someone else, holds the token until the gate opens in 1.5 s.
    const first = fetch(`${app.url}/scenarios/slow`, init);
    await new Promise((resolve) => setTimeout(resolve, 100));
    setTimeout(() => app.app.get(Gate).open(), 1500);

    const started = Date.now();
    const response = await layered(`${app.url}/scenarios/slow`, init);
    expect(response.status).toBe(201);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    expect(await response.text()).toBe(await (await first).text());
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    // The first try is told "in progress"; the retry says Prefer: wait and is held until the answer.
    expect(sent).toEqual([token, token]);
    expect(app.app.get(Gate).runs).toBe(1);
  }, 20_000);
});

describe('the generated client when GET /tokens refuses', () => {
  let server: RedisServerHandle;
  let service: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
    service = await startService({ REDIS_URL: server.url, TOKEN_RATE_LIMIT: '1' });
  });
  afterAll(async () => {
    await service.close();
    await server.stop();
  });

  it('reports the 429 as openapi-fetch reports any error answer, and places nothing', async () => {
    const api = createClient({ baseUrl: service.url });
    expect((await api.POST('/orders', { body: ORDER })).response.status).toBe(201);
    const before = service.app.get(OrdersService).count;
    const { data, error, response } = await api.POST('/orders', { body: ORDER });
    expect(data).toBeUndefined();
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toMatch(/^[0-9]+$/);
    expect(error).toMatchObject({ code: 'TOKEN_RATE_LIMITED' });
    expect(service.app.get(OrdersService).count).toBe(before);
  });
});
