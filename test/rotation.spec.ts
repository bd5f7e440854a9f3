import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { OrdersService } from '../src/orders/orders.service.js';
import { ADAPTERS, fetchToken } from './support/app-harness.js';
import { redisSuite } from './support/redis-suite.js';

const SCOPE = 'orders.create';
const ALICE = 'Bearer key-alice';
const ORDER = { item: 'book', quantity: 1 };

/** `POST /orders` as alice with this token; `prefer`: the Prefer header, if any. */
const order = (url: string, token: string, prefer?: string) => {
  const call = request(url)
    .post('/orders')
    .set('Authorization', ALICE)
    .set('Idempotency-Token', token);
  if (prefer !== undefined) call.set('Prefer', prefer);
  return call.send(ORDER);
};

/** Token rotation on the demo's `POST /orders` (`rotate: true`), on a real Redis. */
describe.each(ADAPTERS)('token rotation on %s', (adapter) => {
  const suite = redisSuite();
  const service = (env: Record<string, string> = {}) =>
    suite.service({ API_KEYS: 'alice:key-alice,bob:key-bob', ...env }, { adapter });
  const token = (url: string, apiKey = 'key-alice') => fetchToken(url, { scope: SCOPE, apiKey });

  it('answers Prefer: next-token with a fresh token for the next order; replays carry the same one', async () => {
    const { url, app } = await service();
    const first = await order(url, await token(url), 'respond-async, next-token');
    expect(first.status).toBe(201);
    const next = first.headers['idempotency-token-next'];
    expect(next).toMatch(/^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/);
    expect(first.headers['preference-applied']).toBe('next-token');

    const before = app.get(OrdersService).count;
    const second = await order(url, next);
    expect([second.status, second.headers['idempotent-replayed']]).toEqual([201, undefined]);
    expect(second.body.id).not.toBe(first.body.id);
    expect(app.get(OrdersService).count).toBe(before + 1);
    // Bound to its caller and scope like any token.
    const bob = await request(url)
      .post('/orders')
      .set('Authorization', 'Bearer key-bob')
      .set(
        'Idempotency-Token',
        (await order(url, await token(url), 'next-token')).headers['idempotency-token-next'],
      )
      .send(ORDER);
    expect([bob.status, bob.body.code]).toEqual([400, 'TOKEN_UNKNOWN']);
  });

  it('carries the same next token on every replay of the first answer', async () => {
    const { url } = await service();
    const used = await token(url);
    const first = await order(url, used, 'next-token');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the outcome is written after the answer
    const replay = await order(url, used); // without the preference: still the first answer
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers['idempotency-token-next']).toBe(first.headers['idempotency-token-next']);
    expect(replay.headers['preference-applied']).toBe('next-token');
  });

  it('issues nothing without the preference: no header, nothing charged', async () => {
    const { url } = await service({ TOKEN_RATE_LIMIT: '5' });
    const first = await order(url, await token(url));
    expect(first.status).toBe(201);
    expect(first.headers['idempotency-token-next']).toBeUndefined();
    expect(first.headers['preference-applied']).toBeUndefined();
    const grants = await request(url)
      .get('/tokens')
      .query({ scope: SCOPE })
      .set('Authorization', ALICE);
    expect(grants.headers.ratelimit).toMatch(/^"tokens";r=3;/); // 2 fetched, none rotated
  });

  it('leaves the headers out when the limiter refuses the next token; the answer is otherwise the same', async () => {
    const { url, app } = await service({ TOKEN_RATE_LIMIT: '1' });
    const before = app.get(OrdersService).count;
    const first = await order(url, await token(url), 'next-token');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject(ORDER);
    expect(first.headers['idempotency-token-next']).toBeUndefined();
    expect(first.headers['preference-applied']).toBeUndefined();
    expect(app.get(OrdersService).count).toBe(before + 1);
  });
});
