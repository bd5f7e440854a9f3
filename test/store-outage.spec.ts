import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import {
  CapturingLogger,
  fetchToken,
  placeOrder,
  type RunningApp,
  sleep,
  startService,
} from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** docs/CONTRACT.md, "Store faults": 503 within 5 s while Redis is down, recovery within 10 s, same process. */
describe('Redis outage', () => {
  let server: RedisServerHandle;
  let service: RunningApp;
  const logger = new CapturingLogger();

  beforeAll(async () => {
    server = await startRedis();
    service = await startService({ REDIS_URL: server.url }, { logger });
  });
  afterAll(async () => {
    await service.close();
    await server.stop();
  });

  const postOrder = (token: string) => placeOrder(service.url, token);

  it('answers 503 STORE_UNAVAILABLE within 5 s, consumes nothing, then recovers by itself', async () => {
    const token = await fetchToken(service.url, { scope: 'orders.create' });
    await server.stop();

    for (const call of [() => postOrder(token), () => request(service.url).get('/tokens')]) {
      const started = Date.now();
      const response = await call().timeout(6000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(response.headers['idempotency-token-consumed']).toBeUndefined();
    }
    expect((await request(service.url).get('/health').timeout(6000)).status).toBe(503);

    // Redis comes back empty (no persistence in tests): the scripts must reload by themselves.
    await server.start();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await request(service.url).get('/tokens')).status;
      if (status !== 200) await sleep(200);
    }
    expect(status).toBe(200);
    expect((await request(service.url).get('/health')).status).toBe(200);
    const fresh = await fetchToken(service.url, { scope: 'orders.create' });
    expect((await postOrder(fresh)).status).toBe(201);
  }, 30_000);

  it('logged the outage without any token value', async () => {
    expect(logger.lines.join('\n')).not.toMatch(
      /[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}/,
    );
  });
});
