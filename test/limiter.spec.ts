import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { RedisTokenStore } from '@idempotency-tokens/nestjs';
import { ScenariosModule } from './fixtures/scenarios.module.js';
import { sleep, startModule } from './support/app-harness.js';
import { redisSuite } from './support/redis-suite.js';

/** the contract's limiter through `GET /tokens`, on a real Redis. */
describe('the issuance limiter', () => {
  const suite = redisSuite();
  const service = async (env: Record<string, string>, adapter: 'fastify' | 'express' = 'fastify') =>
    (await suite.service(env, { adapter })).url;
  const getToken = (url: string, headers: Record<string, string> = {}, query = '') =>
    request(url).get(`/tokens${query}`).set(headers);

  it('limit 10: of 100 concurrent requests over two instances exactly 10 get a token', async () => {
    const env = {
      TOKEN_RATE_LIMIT: '10',
      TOKEN_RATE_WINDOW_SECONDS: '60',
      API_KEYS: 'alice:key-a',
    };
    const urls = [await service(env), await service(env, 'express')];
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        getToken(urls[i % 2], { Authorization: 'Bearer key-a' }),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    const refused = responses.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(90);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({
        code: 'TOKEN_RATE_LIMITED',
        type: 'urn:problem:token-rate-limited',
        status: 429,
      });
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(59);
      expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
  });

  it('carries the RateLimit fields on 200 and 429', async () => {
    const url = await service({ TOKEN_RATE_LIMIT: '2', TOKEN_RATE_WINDOW_SECONDS: '30' });
    const first = await getToken(url);
    expect(first.headers['ratelimit-policy']).toBe('"tokens";q=2;w=30');
    expect(first.headers.ratelimit).toBe('"tokens";r=1;t=30');
    const second = await getToken(url);
    expect(second.headers.ratelimit).toMatch(/^"tokens";r=0;t=(29|30)$/);
    const refused = await getToken(url);
    expect(refused.status).toBe(429);
    expect(refused.headers['ratelimit-policy']).toBe('"tokens";q=2;w=30');
    expect(refused.headers.ratelimit).toMatch(/^"tokens";r=0;t=(29|30)$/);
    expect(refused.headers['retry-after']).toBe(refused.headers.ratelimit.split('t=')[1]);
  });

  it('slides: Retry-After is never early and at most a second late, and tokens come back at the rate', async () => {
    const url = await service({ TOKEN_RATE_LIMIT: '2', TOKEN_RATE_WINDOW_SECONDS: '3' });
    expect((await getToken(url)).status).toBe(200); // t = 0
    await sleep(1000);
    expect((await getToken(url)).status).toBe(200); // t = 1
    const refusedAt = Date.now();
    const refused = await getToken(url);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBe(2); // the t = 0 grant leaves at t = 3

    // A second before Retry-After ends, the window still refuses: Retry-After is at most a second late.
    await sleep(Math.max(0, refusedAt + (retryAfter - 1) * 1000 - 150 - Date.now()));
    expect((await getToken(url)).status).toBe(429);
    // When it ends, the window admits one again: it is never early.
    await sleep(refusedAt + retryAfter * 1000 - Date.now());
    expect((await getToken(url)).status).toBe(200); // t ≈ 3
    // Not a fixed window: the t = 1 grant still counts, so only one came back.
    expect((await getToken(url)).status).toBe(429);
  }, 15_000);

  it('keeps callers apart: subjects, and anonymous callers by address', async () => {
    const keyed = await service({ TOKEN_RATE_LIMIT: '1', API_KEYS: 'alice:key-a,bob:key-b' });
    expect((await getToken(keyed, { Authorization: 'Bearer key-a' })).status).toBe(200);
    expect((await getToken(keyed, { Authorization: 'Bearer key-a' })).status).toBe(429);
    expect((await getToken(keyed, { Authorization: 'Bearer key-b' })).status).toBe(200);

    const proxied = await service({ TOKEN_RATE_LIMIT: '1', TRUST_PROXY: 'true' });
    expect((await getToken(proxied, { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(200);
    expect((await getToken(proxied, { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(429);
    expect((await getToken(proxied, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(200);
  });

  it.each(['fastify', 'express'] as const)(
    'counts anonymous IPv6 callers per /64 and an IPv4-mapped address as its IPv4 address (%s)',
    async (adapter) => {
      const proxied = await service({ TOKEN_RATE_LIMIT: '1', TRUST_PROXY: 'true' }, adapter);
      const from = async (address: string) =>
        (await getToken(proxied, { 'X-Forwarded-For': address })).status;
      expect(await from('2001:db8:0:1::1')).toBe(200);
      expect(await from('2001:db8:0:1:ffff:ffff:ffff:ffff')).toBe(429);
      expect(await from('2001:db8:0:2::1')).toBe(200);
      expect(await from('::ffff:198.51.100.3')).toBe(200);
      expect(await from('198.51.100.3')).toBe(429);
    },
  );

  it('without TRUST_PROXY, a client cannot pick its own limiter key with X-Forwarded-For', async () => {
    const url = await service({ TOKEN_RATE_LIMIT: '1' });
    expect((await getToken(url, { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(200);
    expect((await getToken(url, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(429);
  });

  it('quota 3: the 4th unused token is refused; using one or letting one expire frees a place', async () => {
    const url = await service({ TOKEN_MAX_OUTSTANDING: '3' });
    const short = await getToken(url, {}, '?ttl=2');
    const used = await getToken(url, {}, '?scope=orders.create');
    expect((await getToken(url)).status).toBe(200);

    const refused = await getToken(url);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('TOKEN_QUOTA_EXCEEDED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(2); // the ttl=2 token expires first

    const order = await request(url)
      .post('/orders')
      .set('Idempotency-Token', used.body.token)
      .send({ item: 'a', quantity: 1 });
    expect(order.status).toBe(201);
    expect((await getToken(url)).status).toBe(200);
    expect((await getToken(url)).status).toBe(429);

    await sleep(short.body.expiresIn * 1000 + 100);
    expect((await getToken(url)).status).toBe(200);
  });

  it('applies per-scope limits from the module options, counted apart from the default', async () => {
    const app = suite.track(
      await startModule(
        ScenariosModule.forRoot({
          redis: suite.redis,
          limits: { rateLimit: 5 },
          scopeLimits: { payments: { rateLimit: 2, rateWindowSeconds: 10 } },
        }),
      ),
    );
    for (let i = 0; i < 2; i++)
      expect((await getToken(app.url, {}, '?scope=payments')).status).toBe(200);
    const refused = await getToken(app.url, {}, '?scope=payments');
    expect(refused.status).toBe(429);
    expect(refused.headers['ratelimit-policy']).toBe('"tokens:payments";q=2;w=10');
    const other = await getToken(app.url, {}, '?scope=orders.create');
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-policy']).toBe('"tokens";q=5;w=60');
    expect(other.headers.ratelimit).toMatch(/^"tokens";r=4;/);
  });

  it('keeps the memory per caller bounded: 10 000 issuances leave at most the limits behind', async () => {
    const store = new RedisTokenStore(suite.redis);
    const tag = randomBytes(9).toString('base64url');
    const limits = { bucket: '', rateLimit: 200, windowMs: 60_000, maxOutstanding: 50 };
    let granted = 0;
    for (let batch = 0; batch < 100; batch++) {
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          store.issue({
            ref: { tag, id: randomBytes(16).toString('base64url') },
            binding: '|',
            ttlMs: 60_000,
            limits,
          }),
        ),
      );
      granted += results.filter((r) => r.granted).length;
    }
    expect(granted).toBe(50); // the quota bites first
    const keys = await suite.redis.keys(`idem:{${tag}}:*`);
    expect(keys).toHaveLength(2); // the grants log, the held set (the 50 tokens)
    expect(await suite.redis.zcard(`idem:{${tag}}:g:`)).toBe(50);
    expect(await suite.redis.zcard(`idem:{${tag}}:h:`)).toBe(50);
    const bytes = (
      await Promise.all(keys.map((key) => suite.redis.memory('USAGE', key)))
    ).reduce<number>((sum, n) => sum + Number(n), 0);
    expect(bytes).toBeLessThan(50 * 400);
    for (const key of keys) expect(await suite.redis.pttl(key)).toBeGreaterThan(0);
  }, 30_000);
});
