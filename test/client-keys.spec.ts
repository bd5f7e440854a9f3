import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PaymentsService } from '../src/payments/payments.service.js';
import { ADAPTERS, fetchToken, type RunningApp, startService } from './support/app-harness.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedis,
  startRedisCluster,
} from './support/redis-harness.js';

const CALLERS = 'alice:key-alice,bob:key-bob';
const ALICE = 'Bearer key-alice';
const BOB = 'Bearer key-bob';
const PAYMENT = { orderId: 'order-1', amountCents: 2599 };
const KEEP_SECONDS = '86400'; // IDEMPOTENCY_RESULT_TTL_SECONDS

/** `POST /payments` as `caller` with this Idempotency-Key header value (none when undefined). */
const pay = (url: string, key: string | undefined, body: object = PAYMENT, caller = ALICE) => {
  const call = request(url).post('/payments').set('Authorization', caller);
  if (key !== undefined) call.set('Idempotency-Key', key);
  return call.send(body);
};

/** Every answer on a key route says how long a key is kept, and never that a token was consumed. */
function expectKeyRouteHeaders(response: request.Response) {
  expect(response.headers['idempotency-key-expires']).toBe(KEEP_SECONDS);
  expect(response.headers['idempotency-token-consumed']).toBeUndefined();
}

/** The contract's client-chosen keys on the demo's `POST /payments`, on a real Redis. */
describe.each(ADAPTERS)('client-chosen keys on %s', (adapter) => {
  let server: RedisServerHandle;
  let service: RunningApp;
  const taken = () => service.app.get(PaymentsService).count;

  beforeAll(async () => {
    server = await startRedis();
    service = await startService({ REDIS_URL: server.url, API_KEYS: CALLERS }, { adapter });
  });
  afterAll(async () => {
    await service?.close();
    await server?.stop();
  });

  it('runs a first use, replays a copy; the bare and the quoted spelling are one key', async () => {
    const key = randomUUID();
    const before = taken();
    const first = await pay(service.url, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject(PAYMENT);
    expect(first.headers.location).toBe(`/payments/${first.body.id}`);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expectKeyRouteHeaders(first);

    for (const spelling of [key, `"${key}"`]) {
      const copy = await pay(service.url, spelling);
      expect(copy.status).toBe(201);
      expect(copy.headers['idempotent-replayed']).toBe('true');
      expect(copy.body.id).toBe(first.body.id);
      expectKeyRouteHeaders(copy);
    }
    expect(taken() - before).toBe(1);
  });

  it('reads the quoted form with escapes as the key it spells', async () => {
    const key = `${randomUUID()} with "quotes" and \\`;
    const quoted = `"${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    const first = await pay(service.url, quoted);
    expect(first.status).toBe(201);
    const again = await pay(service.url, quoted);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });

  it('keeps the keys of two callers apart: the same key is another key for another caller', async () => {
    const key = randomUUID();
    const alice = await pay(service.url, key, PAYMENT, ALICE);
    const bob = await pay(service.url, key, PAYMENT, BOB);
    expect([alice.status, bob.status]).toEqual([201, 201]);
    expect(bob.headers['idempotent-replayed']).toBeUndefined();
    expect(bob.body.id).not.toBe(alice.body.id);
    expect((await pay(service.url, key, PAYMENT, BOB)).body.id).toBe(bob.body.id);
  });

  it('answers another body under a used key with 422 PAYLOAD_MISMATCH', async () => {
    const key = randomUUID();
    await pay(service.url, key);
    const other = await pay(service.url, key, { ...PAYMENT, amountCents: 1 });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('PAYLOAD_MISMATCH');
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectKeyRouteHeaders(other);
  });

  it.each([
    ['no Idempotency-Key', undefined, 'IDEMPOTENCY_KEY_MISSING'],
    ['an empty one', '', 'IDEMPOTENCY_KEY_MISSING'],
    ['one of 7 characters', '1234567', 'IDEMPOTENCY_KEY_INVALID'],
    ['one of 256', 'k'.repeat(256), 'IDEMPOTENCY_KEY_INVALID'],
    ['a quoted one without its closing quote', '"12345678', 'IDEMPOTENCY_KEY_INVALID'],
    ['a bare one with a space', 'two words', 'IDEMPOTENCY_KEY_INVALID'],
  ])('refuses %s with 400 %s, and uses nothing', async (_, header, code) => {
    const before = taken();
    const refused = await pay(service.url, header);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(code);
    expectKeyRouteHeaders(refused);
    expect(taken()).toBe(before);
  });

  it('refuses a request with both a key and a token (400 IDEMPOTENCY_KEY_INVALID); the key stays new', async () => {
    const key = randomUUID();
    const token = await fetchToken(service.url, { apiKey: 'key-alice' });
    const both = await request(service.url)
      .post('/payments')
      .set('Authorization', ALICE)
      .set('Idempotency-Key', key)
      .set('Idempotency-Token', token)
      .send(PAYMENT);
    expect(both.status).toBe(400);
    expect(both.body.code).toBe('IDEMPOTENCY_KEY_INVALID');
    const first = await pay(service.url, key);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('client-chosen keys under the limiter, and concurrency over two instances', () => {
  let server: RedisServerHandle;
  const running: RunningApp[] = [];

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(running.map((app) => app.close()));
    await server?.stop();
  });

  it('counts each first use as a grant: 429 KEY_RATE_LIMITED beyond the limit, copies still answered', async () => {
    const limited = await startService({
      REDIS_URL: server.url,
      API_KEYS: CALLERS,
      TOKEN_RATE_LIMIT: '3',
    });
    running.push(limited);
    const keys = [randomUUID(), randomUUID()];
    for (const key of keys) expect((await pay(limited.url, key)).status).toBe(201);
    await fetchToken(limited.url, { apiKey: 'key-alice' }); // the third grant: the window is shared

    const refused = await pay(limited.url, randomUUID());
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('KEY_RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-policy']).toBe('"tokens";q=3;w=60');
    expect(refused.headers.ratelimit).toMatch(/^"tokens";r=0;t=\d+$/);
    expectKeyRouteHeaders(refused);
    expect(limited.app.get(PaymentsService).count).toBe(2);

    const copy = await pay(limited.url, keys[0]);
    expect(copy.status).toBe(201);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    // Another caller has a window of its own.
    expect((await pay(limited.url, randomUUID(), PAYMENT, BOB)).status).toBe(201);
  });

  it('runs one of 100 concurrent copies of a key over two instances (Fastify, Express)', async () => {
    const instances = [
      await startService({ REDIS_URL: server.url, API_KEYS: CALLERS }, { adapter: 'fastify' }),
      await startService({ REDIS_URL: server.url, API_KEYS: CALLERS }, { adapter: 'express' }),
    ];
    running.push(...instances);
    const taken = () => instances.reduce((sum, { app }) => sum + app.get(PaymentsService).count, 0);
    const key = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => pay(instances[i % 2].url, i % 3 ? key : `"${key}"`)),
    );
    expect(taken()).toBe(1);
    const firsts = responses.filter(
      (r) => r.status === 201 && r.headers['idempotent-replayed'] === undefined,
    );
    expect(firsts).toHaveLength(1);
    for (const response of responses) {
      expectKeyRouteHeaders(response);
      if (response.status === 201) expect(response.body.id).toBe(firsts[0].body.id);
      else {
        expect([response.status, response.body.code]).toEqual([409, 'REQUEST_IN_PROGRESS']);
        expect(response.headers['retry-after']).toBe('1');
      }
    }
  });
});

describe('client-chosen keys on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let service: RunningApp;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    const nodes = cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',');
    service = await startService({ REDIS_CLUSTER_NODES: nodes, API_KEYS: CALLERS });
  }, 60_000);
  afterAll(async () => {
    await service?.close();
    await cluster?.stop();
  });

  it('claims once and replays, for callers on different slots', async () => {
    for (const caller of [ALICE, BOB]) {
      const key = randomUUID();
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => pay(service.url, key, PAYMENT, caller)),
      );
      const ids = new Set(responses.filter((r) => r.status === 201).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      const copy = await pay(service.url, key, PAYMENT, caller);
      expect(copy.headers['idempotent-replayed']).toBe('true');
    }
    expect(service.app.get(PaymentsService).count).toBe(2);
  });
});
