import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import request from 'supertest';
import { unissuedToken } from '@idempotency-tokens/nestjs/testing';
import {
  fetchToken,
  type RunningApp,
  sleep,
  startService,
  TEST_SECRET,
} from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** The value of one sample in Prometheus text, 0 when absent. */
function sample(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('operations: health, metrics and request logs', () => {
  let server: RedisServerHandle;
  let service: RunningApp;
  const lines: string[] = [];

  beforeAll(async () => {
    server = await startRedis();
    const destination = new Writable({
      write: (chunk, _enc, done) => (
        lines.push(...String(chunk).split('\n').filter(Boolean)),
        done()
      ),
    });
    service = await startService(
      {
        REDIS_URL: server.url,
        API_KEYS: 'alice:key-a,bob:key-b',
        LOG_LEVEL: 'info',
        TOKEN_RATE_LIMIT: '5',
        TOKEN_MAX_OUTSTANDING: '100',
      },
      { logDestination: destination },
    );
  });
  afterAll(async () => {
    await service.close();
    await server.stop();
  });

  const auth = { Authorization: 'Bearer key-a' };
  const post = (token: string, body: object = { item: 'a', quantity: 1 }) =>
    request(service.url).post('/orders').set(auth).set('Idempotency-Token', token).send(body);
  const metrics = async () => (await request(service.url).get('/metrics')).text;

  it('GET /health answers 200 {"status":"ok"} without an API key while Redis answers', async () => {
    const response = await request(service.url).get('/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'ok', details: { redis: { status: 'up' } } });
  });

  it('GET /metrics counts every outcome, refusal and store call, with process metrics', async () => {
    const before = await metrics();
    const token = await fetchToken(service.url, { scope: 'orders.create', apiKey: 'key-a' });
    await post(token);
    await sleep(50);
    await post(token); // replay
    await post(token, { item: 'b', quantity: 1 }); // mismatch
    await post('garbage'); // invalid
    await post(unissuedToken(TEST_SECRET, { subject: 'alice' })); // unknown
    const cancelToken = await fetchToken(service.url, { apiKey: 'key-a' });
    const cancel = () =>
      request(service.url).post('/orders/x/cancel').set(auth).set('Idempotency-Token', cancelToken);
    await cancel();
    await sleep(50);
    await cancel(); // used (replay off)
    for (let i = 0; i < 7; i++)
      await request(service.url).get('/tokens').set('Authorization', 'Bearer key-b'); // 5 granted, 2 refused

    const response = await request(service.url).get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const after = response.text;
    const delta = (name: string, labels = '') =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('idempotency_tokens_issued_total')).toBe(7);
    for (const [outcome, count] of [
      ['first_use', 2],
      ['replay', 1],
      ['mismatch', 1],
      ['invalid', 1],
      ['unknown', 1],
      ['used', 1],
    ] as const) {
      expect([
        outcome,
        delta('idempotency_tokens_consumed_total', `{outcome="${outcome}"}`),
      ]).toEqual([outcome, count]);
    }
    expect(delta('idempotency_limiter_refusals_total', '{code="TOKEN_RATE_LIMITED"}')).toBe(2);
    for (const operation of ['issue', 'consume', 'record_outcome']) {
      expect(
        delta('idempotency_store_duration_seconds_count', `{operation="${operation}"}`),
      ).toBeGreaterThan(0);
    }
    expect(after).toContain('process_cpu_user_seconds_total');
    expect(after).toContain('nodejs_eventloop_lag_seconds');
  });

  it('logs one JSON line per request with method, route, status, duration and outcome, and never a token', async () => {
    lines.length = 0;
    const token = await fetchToken(service.url, { scope: 'orders.create', apiKey: 'key-a' });
    await post(token);
    await request(service.url)
      .post(`/orders?leaked=${token}`)
      .set(auth)
      .set('Idempotency-Token', token)
      .set('Content-Type', 'application/json')
      .send('{bad');
    await sleep(100);
    const entries = lines.map((line) => JSON.parse(line));
    const orderLine = entries.find((e) => e.method === 'POST' && e.status === 201);
    expect(orderLine).toMatchObject({
      route: '/orders',
      idempotency: 'first_use',
      method: 'POST',
      url: '/orders',
      status: 201,
      msg: expect.stringMatching(/^POST \/orders 201 \d+ms$/),
    });
    expect(typeof orderLine.responseTime).toBe('number');
    expect(entries.filter((e) => e.url === '/tokens?scope=orders.create')).toHaveLength(1);
    expect(entries.find((e) => e.status === 400)).toMatchObject({
      route: '/orders',
      url: '/orders?leaked=[token]',
    });
    // Percent-encoded spellings of the token, and a URL of kilobytes on an unknown route.
    const [tag, id, signature] = token.split('.');
    lines.length = 0;
    await request(service.url).get(`/orders?t=${tag}%2E${id}%2e${signature}`).set(auth);
    await request(service.url)
      .get(`/orders?t=%${token.charCodeAt(0).toString(16)}${token.slice(1)}`)
      .set(auth);
    await request(service.url)
      .get(`/nowhere/${'x'.repeat(5000)}`)
      .set(auth);
    await sleep(100);
    const more = lines.map((line) => JSON.parse(line));
    expect(more.map((e) => e.url).slice(0, 2)).toEqual(['/orders?t=[token]', '/orders?t=[token]']);
    const long = more.find((e) => e.status === 404);
    expect(long.url.length).toBeLessThanOrEqual(513);
    expect(long.msg).toMatch(/^GET \(no route\) 404 \d+ms$/);
    lines.push(...entries.map((e) => JSON.stringify(e)));

    const text = lines.join('\n');
    expect(text).not.toContain(token);
    expect(text).not.toContain(id);
    expect(text).toContain('leaked=[token]');
    expect(text).not.toContain('key-a');
  });
});
