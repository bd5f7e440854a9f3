import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import {
  fetchToken,
  placeOrder,
  type RunningApp,
  sleep,
  startModule,
  startService,
} from './support/app-harness.js';
import { Gate, ScenariosModule } from './fixtures/scenarios.module.js';
import { connectRedis, unusedTokens } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';
import { type LossyProxy, startLossyProxy } from './support/lossy-proxy.js';
import { type SlowAnswersProxy, startSlowAnswersProxy } from './support/slow-answers-proxy.js';

const RATE_LIMIT = 10;
const SCOPE = 'orders.create';

/**
 * docs/CONTRACT.md, "Store faults": Redis ran the consume, the issuance and a key's claim in
 * time, but their answers came after the command time-out (a slow way back). The caller
 * answered 503, so the store undoes all three: the token and the key work as first uses, the
 * 503'd issuance and claim are not charged.
 */
describe('Redis answers that arrive after the command time-out', () => {
  let server: RedisServerHandle;
  let proxy: SlowAnswersProxy;
  let redis: Redis;
  let service: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
    proxy = await startSlowAnswersProxy(server.port);
    redis = (await connectRedis(server)) as Redis;
    service = await startService({
      REDIS_URL: proxy.url,
      TOKEN_RATE_LIMIT: String(RATE_LIMIT),
      TOKEN_MAX_OUTSTANDING: String(RATE_LIMIT),
    });
  });
  afterAll(async () => {
    await service.close();
    await proxy.close();
    await redis.quit();
    await server.stop();
  });

  const postOrder = (token: string) => placeOrder(service.url, token);
  const KEY = 'payment-key-0001';
  const pay = (key: string) =>
    request(service.url)
      .post('/payments')
      .set('Idempotency-Key', key)
      .send({ orderId: 'order-1', amountCents: 100 });
  const orders = () => service.app.get(OrdersService).count;

  it('undoes a consume, an issuance and a key claim whose answers came too late', async () => {
    // Every script has run once on the connection, and Redis' clock is known, before answers slow down.
    expect((await postOrder(await fetchToken(service.url, { scope: SCOPE }))).status).toBe(201);
    const token = await fetchToken(service.url, { scope: SCOPE });
    const [tag, id] = token.split('.');
    const ordersBefore = orders();

    proxy.delayAnswers(3_000);
    const started = Date.now();
    const answers = await Promise.all([
      postOrder(token),
      request(service.url).get('/tokens').query({ scope: SCOPE }),
      pay(KEY),
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(answer.headers['idempotency-token-consumed']).toBeUndefined();
    }
    proxy.delayAnswers(0);
    const deadline = Date.now() + 10_000;
    while (proxy.held() > 0 && Date.now() < deadline) await sleep(100);
    expect(proxy.held()).toBe(0);

    // The token is back as it was: unused, with the rest of its lifetime; no marker.
    expect(await redis.exists(`idem:{${tag}}:r:${id}`)).toBe(0);
    const [restored] = (await unusedTokens(redis)).filter(({ member }) => member.startsWith(id));
    const ttlMs = restored.expiresAt - Date.now();
    expect(ttlMs).toBeGreaterThan(880_000);
    expect(ttlMs).toBeLessThanOrEqual(900_000);

    const first = await postOrder(token);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(orders()).toBe(ordersBefore + 1);
    const copy = await postOrder(token);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(copy.body.id).toBe(first.body.id);
    expect(orders()).toBe(ordersBefore + 1);

    // The key's claim is gone too: the key works as a first use.
    const payment = await pay(KEY);
    expect([payment.status, payment.headers['idempotent-replayed']]).toEqual([201, undefined]);
    expect((await pay(KEY)).headers['idempotent-replayed']).toBe('true');

    // Two grants before the slow answers, none for the 503s, one for the key's first use: this
    // one leaves RATE_LIMIT - 4.
    const next = await request(service.url).get('/tokens').query({ scope: SCOPE });
    expect(next.status).toBe(200);
    expect(next.headers['ratelimit']).toMatch(new RegExp(`^"tokens";r=${RATE_LIMIT - 4};`));
    // Unused now: only that new token (the restored one was used); the 503'd issuance left none.
    expect((await unusedTokens(redis)).map(({ member }) => member)).toEqual([
      expect.stringMatching(new RegExp(`^${next.body.token.split('.')[1]}`)),
    ]);
  }, 30_000);
});

/**
 * docs/CONTRACT.md, "Store faults": the connection closed after the consume was sent, so Redis
 * ran it but its answer never came (a failover, a cut link). The caller answered 503; its undo
 * cannot go right behind the consume and is tried again until Redis answers it.
 */
describe('Redis answers lost with the connection', () => {
  let server: RedisServerHandle;
  let proxy: LossyProxy;
  let service: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
    // The first command that names a consumed-marker (`:r:`) key is the first consume.
    proxy = await startLossyProxy(new URL(server.url), /:r:/);
    service = await startService({ REDIS_URL: proxy.url.replace('http:', 'redis:') });
  });
  afterAll(async () => {
    await service.close();
    await proxy.close();
    await server.stop();
  });

  it('gives the token back once Redis answers again: it works as a first use, once', async () => {
    const token = await fetchToken(service.url, { scope: SCOPE });
    const orders = service.app.get(OrdersService);
    const ordersBefore = orders.count;
    const lost = await placeOrder(service.url, token);
    expect([lost.status, proxy.dropped()]).toEqual([503, 1]);

    // The client sends again while the answer is 503 or "in progress", as the contract says.
    let retried = lost;
    for (const until = Date.now() + 5_000; Date.now() < until; await sleep(200)) {
      retried = await placeOrder(service.url, token);
      if (retried.status !== 503 && retried.body.code !== 'REQUEST_IN_PROGRESS') break;
    }
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(orders.count).toBe(ordersBefore + 1);
  }, 15_000);
});

/**
 * An app's own client as the README shows it, which ioredis makes to send again, once it has
 * reconnected, whatever was in flight when its connection closed: the consume Redis ran, whose
 * answer was lost, reaches Redis a second time. Same owner: the same first use, so its handler
 * runs, once, instead of the request reading its own claim as "in progress".
 */
describe('Redis answers lost with the connection, on a client that sends them again', () => {
  it('answers the resent consume as the first use it is: the handler runs once', async () => {
    const server = await startRedis();
    const proxy = await startLossyProxy(new URL(server.url), /:r:/);
    const client = new Redis(proxy.url.replace('http:', 'redis:'), {
      enableOfflineQueue: false,
      commandTimeout: 2000,
    });
    const app = await startModule(ScenariosModule.forRoot({ redis: client }));
    try {
      const issued = await request(app.url).get('/tokens');
      const answer = await request(app.url)
        .post('/scenarios/counted')
        .set('Idempotency-Token', issued.body.token)
        .send({ id: 'resent' });
      expect([answer.status, answer.headers['idempotent-replayed'], proxy.dropped()]).toEqual([
        201,
        undefined,
        1,
      ]);
      expect(app.app.get(Gate).runsOf.get('resent')).toBe(1);
    } finally {
      await app.close();
      client.disconnect();
      await proxy.close();
      await server.stop();
    }
  });
});
