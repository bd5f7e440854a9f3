import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import { ADAPTERS, placeOrder } from './support/app-harness.js';
import { redisSuite } from './support/redis-suite.js';
import { unusedTokens } from './support/redis-clients.js';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;

/** `GET /tokens?count=N` on a real Redis: one script, all or none under the limiter. */
describe.each(ADAPTERS)('token batches on %s', (adapter) => {
  const suite = redisSuite();
  const service = (env: Record<string, string> = {}) => suite.service(env, { adapter });
  const tokens = (url: string, query: Record<string, string>) =>
    request(url)
      .get('/tokens')
      .query({ scope: 'orders.create', ...query });

  it('issues count tokens in the batch shape, each usable once; without count the single shape', async () => {
    const { url, app } = await service();
    const batch = await tokens(url, { count: '5', ttl: '120' });
    expect(batch.status).toBe(200);
    expect(Object.keys(batch.body).sort()).toEqual(['expiresAt', 'expiresIn', 'scope', 'tokens']);
    expect(batch.body).toMatchObject({ scope: 'orders.create', expiresIn: 120 });
    expect(batch.body.tokens).toHaveLength(5);
    expect(new Set(batch.body.tokens).size).toBe(5);
    for (const token of batch.body.tokens) expect(token).toMatch(TOKEN_SHAPE);
    expect(batch.headers['cache-control']).toBe('no-store');

    const before = app.get(OrdersService).count;
    for (const token of batch.body.tokens) expect((await placeOrder(url, token)).status).toBe(201);
    expect(app.get(OrdersService).count).toBe(before + 5);

    const single = await tokens(url, {});
    expect(Object.keys(single.body).sort()).toEqual(['expiresAt', 'expiresIn', 'scope', 'token']);
    const one = await tokens(url, { count: '1' });
    expect(one.body.tokens).toHaveLength(1);
  });

  it('is all or none at the edge of the rate limit: 429 when fewer than count are allowed, nothing issued', async () => {
    const { url } = await service({ TOKEN_RATE_LIMIT: '5' });
    expect((await tokens(url, { count: '3' })).status).toBe(200);
    const refused = await tokens(url, { count: '3' });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('TOKEN_RATE_LIMITED');
    expect(refused.headers.ratelimit).toMatch(/^"tokens";r=2;/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(await unusedTokens(suite.redis)).toHaveLength(3); // the refused batch stored none
    const rest = await tokens(url, { count: '2' });
    expect(rest.status).toBe(200);
    expect(rest.body.tokens).toHaveLength(2);
    expect(rest.headers.ratelimit).toMatch(/^"tokens";r=0;/);
  });

  it('is all or none at the edge of the quota of unused tokens', async () => {
    const { url } = await service({ TOKEN_MAX_OUTSTANDING: '4' });
    expect((await tokens(url, { count: '3' })).status).toBe(200);
    const refused = await tokens(url, { count: '2' });
    expect([refused.status, refused.body.code]).toEqual([429, 'TOKEN_QUOTA_EXCEEDED']);
    expect((await tokens(url, { count: '1' })).status).toBe(200);
  });

  it.each([['0'], ['21'], ['two'], ['1.5'], ['']])(
    'refuses count=%s with 400 VALIDATION_FAILED',
    async (count) => {
      const { url } = await service();
      const refused = await tokens(url, { count });
      expect([refused.status, refused.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(await unusedTokens(suite.redis)).toEqual([]);
    },
  );

  it('takes its largest batch from TOKEN_MAX_BATCH', async () => {
    const { url } = await service({ TOKEN_MAX_BATCH: '50' });
    expect((await tokens(url, { count: '50' })).body.tokens).toHaveLength(50);
    expect((await tokens(url, { count: '51' })).status).toBe(400);
  });
});
