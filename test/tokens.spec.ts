import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { ADAPTERS, fetchToken, type RunningApp, startService } from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** Every `GET /tokens` rule of docs/CONTRACT.md, for anonymous callers, on both adapters. */
describe.each(ADAPTERS)('GET /tokens on %s', (adapter) => {
  let redis: RedisServerHandle;
  let service: RunningApp;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService(
      { REDIS_URL: redis.url, TOKEN_MAX_TTL_SECONDS: '3600' },
      { adapter },
    );
  });
  afterAll(async () => {
    await service.close();
    await redis.stop();
  });

  const getTokens = (query = '') => request(service.url).get(`/tokens${query}`);

  it('issues a token with scope null, the default ttl, and Cache-Control: no-store', async () => {
    const before = Date.now();
    const response = await getTokens();
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toEqual({
      token: expect.any(String),
      scope: null,
      expiresAt: expect.any(String),
      expiresIn: 900,
    });
    const expiresAt = Date.parse(response.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000 + 1000);
  });

  it('issues URL-safe tokens of 22..255 characters, all different', async () => {
    const tokens = await Promise.all(Array.from({ length: 200 }, () => fetchToken(service.url)));
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9\-_.]{22,255}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('carries at least 128 random bits: the random part differs in about half its bits', async () => {
    const randomParts = await Promise.all(
      Array.from({ length: 50 }, async () =>
        Buffer.from((await fetchToken(service.url)).split('.')[1], 'base64url'),
      ),
    );
    expect(randomParts[0].length * 8).toBeGreaterThanOrEqual(128);
    let differing = 0;
    let total = 0;
    for (let i = 1; i < randomParts.length; i++) {
      for (let byte = 0; byte < randomParts[i].length; byte++) {
        let x = randomParts[i][byte] ^ randomParts[i - 1][byte];
        for (; x; x >>= 1) differing += x & 1;
        total += 8;
      }
    }
    expect(differing / total).toBeGreaterThan(0.4);
    expect(differing / total).toBeLessThan(0.6);
  });

  it('answers HEAD /tokens 405 with Allow: GET, issuing and charging nothing', async () => {
    const remaining = async () =>
      (await request(service.url).get('/tokens')).headers.ratelimit as string;
    const before = await remaining();
    const head = await request(service.url).head('/tokens');
    expect(head.status).toBe(405);
    expect(head.headers.allow).toBe('GET');
    expect(head.headers['content-type']).toMatch(/^application\/problem\+json/);
    // The next GET is charged one more than the previous one, nothing for the HEAD in between.
    const r = (field: string) => Number(/r=([0-9]+)/.exec(field)?.[1]);
    expect(r(before) - r(await remaining())).toBe(1);
  });

  it('issues for a scope and a ttl', async () => {
    const response = await getTokens('?scope=orders.create&ttl=60');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ scope: 'orders.create', expiresIn: 60 });
  });

  it('accepts the longest scope and ttl allowed', async () => {
    const scope = `a.b_c:d-${'x'.repeat(56)}`;
    const response = await getTokens(`?scope=${scope}&ttl=3600`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ scope, expiresIn: 3600 });
  });

  it.each([
    ['an empty ttl', '?ttl='],
    ['ttl 0', '?ttl=0'],
    ['a negative ttl', '?ttl=-5'],
    ['a fractional ttl', '?ttl=1.5'],
    ['a ttl that is not a number', '?ttl=abc'],
    ['a ttl with an exponent', '?ttl=1e3'],
    ['a ttl above TOKEN_MAX_TTL_SECONDS', '?ttl=3601'],
    ['a huge ttl', '?ttl=99999999999999999999'],
    ['ttl given twice', '?ttl=5&ttl=6'],
    ['an empty scope', '?scope='],
    ['a scope of 65 characters', `?scope=${'s'.repeat(65)}`],
    ['a scope with a space', '?scope=a%20b'],
    ['a scope with a slash', '?scope=a/b'],
    ['a scope with non-ASCII', '?scope=%C3%A9t%C3%A9'],
    ['scope given twice', '?scope=a&scope=b'],
  ])('400 VALIDATION_FAILED for %s', async (_name, query) => {
    const response = await getTokens(query);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      type: 'urn:problem:validation-failed',
    });
    expect(response.body.detail).toMatch(/ttl|scope/);
  });

  it('lets any anonymous caller use an anonymous token', async () => {
    const token = await fetchToken(service.url, { scope: 'orders.create' });
    const response = await request(service.url)
      .post('/orders')
      .set('Idempotency-Token', token)
      .set('X-Forwarded-For', '203.0.113.9')
      .send({ item: 'tea', quantity: 1 });
    expect(response.status).toBe(201);
  });
});
