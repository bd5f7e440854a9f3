import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { unissuedToken } from '@idempotency-tokens/nestjs/testing';
import {
  ADAPTERS,
  fetchToken,
  type RunningApp,
  sleep,
  startService,
  TEST_SECRET,
} from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/**
 * the contract's handler table, row by row, through the demo's `POST /orders` and
 * `POST /orders/:id/cancel`, on both adapters and a real Redis.
 */
const ALICE = 'key-a';
const BOB = 'key-b';
const ORDER = { item: 'book', quantity: 2 };
const CONSUMED = 'idempotency-token-consumed';

describe.each(ADAPTERS)('the handler table on %s', (adapter) => {
  let redis: RedisServerHandle;
  let service: RunningApp;
  let url: string;

  beforeAll(async () => {
    redis = await startRedis();
    service = await startService(
      { REDIS_URL: redis.url, API_KEYS: `alice:${ALICE},bob:${BOB}` },
      { adapter },
    );
    url = service.url;
  });
  afterAll(async () => {
    await service.close();
    await redis.stop();
  });

  const orderToken = (apiKey = ALICE) => fetchToken(url, { scope: 'orders.create', apiKey });
  const postOrder = (token: string | undefined, body: unknown = ORDER, apiKey = ALICE) => {
    const call = request(url).post('/orders').set('Authorization', `Bearer ${apiKey}`);
    if (token !== undefined) call.set('Idempotency-Token', token);
    return call.send(body as object);
  };
  const expectProblem = (response: request.Response, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({
      status,
      code,
      type: `urn:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    });
    expect(typeof response.body.title).toBe('string');
    expect(typeof response.body.detail).toBe('string');
  };
  /** Proves a token was not spent by an answer: it still makes an order. */
  const expectUnspent = async (token: string, apiKey = ALICE) => {
    const response = await postOrder(token, ORDER, apiKey);
    expect(response.status).toBe(201);
  };

  it('401 UNAUTHENTICATED without a valid API key, before any token check', async () => {
    const token = await orderToken();
    expectProblem(
      await request(url).post('/orders').set('Idempotency-Token', token).send(ORDER),
      401,
      'UNAUTHENTICATED',
    );
    const wrongKey = await request(url).get('/tokens').set('Authorization', 'Bearer wrong');
    expectProblem(wrongKey, 401, 'UNAUTHENTICATED');
    expect(wrongKey.headers['www-authenticate']).toBe('Bearer');
    await expectUnspent(token);
  });

  it('takes the Bearer scheme name in any case (RFC 9110)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const response = await request(url).get('/tokens').set('Authorization', `${scheme} ${ALICE}`);
      expect(response.status).toBe(200);
    }
  });

  it('400 TOKEN_MISSING without the header or with an empty one', async () => {
    for (const response of [await postOrder(undefined), await postOrder('')]) {
      expectProblem(response, 400, 'TOKEN_MISSING');
      expect(response.headers[CONSUMED]).toBeUndefined();
    }
  });

  it('400 TOKEN_INVALID for a malformed, overlong or forged token', async () => {
    const token = await orderToken();
    const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const otherId = token.replace(/\.[^.]+\./, '.AAAAAAAAAAAAAAAAAAAAAA.');
    for (const bad of [
      'not-a-token',
      'x'.repeat(300),
      forged,
      otherId,
      `${token}x`,
      token.replaceAll('.', '-'),
    ]) {
      const response = await postOrder(bad);
      expectProblem(response, 400, 'TOKEN_INVALID');
      expect(response.headers[CONSUMED]).toBeUndefined();
    }
    await expectUnspent(token);
  });

  it('400 TOKEN_UNKNOWN for a token never issued (validly signed)', async () => {
    const neverIssued = unissuedToken(TEST_SECRET, { subject: 'alice' });
    const response = await postOrder(neverIssued);
    expectProblem(response, 400, 'TOKEN_UNKNOWN');
    expect(response.headers[CONSUMED]).toBeUndefined();
  });

  it('400 TOKEN_UNKNOWN for an expired token', async () => {
    const token = await fetchToken(url, { scope: 'orders.create', ttl: 1, apiKey: ALICE });
    await sleep(1100);
    expectProblem(await postOrder(token), 400, 'TOKEN_UNKNOWN');
  });

  it("400 TOKEN_UNKNOWN for Alice's token used by Bob, and Alice can still use it", async () => {
    const token = await orderToken(ALICE);
    const response = await postOrder(token, ORDER, BOB);
    expectProblem(response, 400, 'TOKEN_UNKNOWN');
    expect(response.headers[CONSUMED]).toBeUndefined();
    await expectUnspent(token, ALICE);
  });

  it("400 TOKEN_UNKNOWN for another scope's token, which is not burnt", async () => {
    const otherScope = await fetchToken(url, { scope: 'payments', apiKey: ALICE });
    const noScope = await fetchToken(url, { apiKey: ALICE });
    expectProblem(await postOrder(otherScope), 400, 'TOKEN_UNKNOWN');
    expectProblem(await postOrder(noScope), 400, 'TOKEN_UNKNOWN');
    const scoped = await orderToken();
    const created = await postOrder(await orderToken());
    const cancel = await request(url)
      .post(`/orders/${created.body.id}/cancel`)
      .set('Authorization', `Bearer ${ALICE}`)
      .set('Idempotency-Token', scoped);
    expectProblem(cancel, 400, 'TOKEN_UNKNOWN');
    await expectUnspent(scoped);
  });

  it('first use: the handler runs and answers, marked as consumed', async () => {
    const response = await postOrder(await orderToken());
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      // The token's downstream key (@IdempotencyKey()): a UUID of version 8.
      id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      item: 'book',
      quantity: 2,
      createdAt: expect.any(String),
      confirmationsSent: 0,
    });
    expect(response.headers.location).toBe(`/orders/${response.body.id}`);
    expect(response.headers[CONSUMED]).toBe('true');
    expect(response.headers['idempotent-replayed']).toBeUndefined();
  });

  it('copy after the first finished, replay on: the first answer again, marked replayed', async () => {
    const token = await orderToken();
    const first = await postOrder(token);
    await sleep(50); // the outcome is written just after the first answer leaves
    const copy = await postOrder(token);
    expect(copy.status).toBe(201);
    expect(copy.text).toBe(first.text);
    // Stored as the status line's ` json` flag, not as a header line (stored-response.ts).
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(copy.headers['content-type']).toBe(first.headers['content-type']);
    expect(copy.headers.location).toBe(first.headers.location);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(copy.headers[CONSUMED]).toBe('true');
  });

  it('copy after the first finished, replay off: 409 TOKEN_USED', async () => {
    const order = (await postOrder(await orderToken())).body;
    const token = await fetchToken(url, { apiKey: ALICE });
    const cancel = () =>
      request(url)
        .post(`/orders/${order.id}/cancel`)
        .set('Authorization', `Bearer ${ALICE}`)
        .set('Idempotency-Token', token);
    const first = await cancel();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: order.id, cancelledAt: expect.any(String) });
    expect(first.headers[CONSUMED]).toBe('true');
    await sleep(50);
    const copy = await cancel();
    expectProblem(copy, 409, 'TOKEN_USED');
    expect(copy.headers[CONSUMED]).toBe('true');
  });

  it('404 ORDER_NOT_FOUND when cancelling an unknown order, and the token is spent', async () => {
    const token = await fetchToken(url, { apiKey: ALICE });
    const response = await request(url)
      .post('/orders/nope/cancel')
      .set('Authorization', `Bearer ${ALICE}`)
      .set('Idempotency-Token', token);
    expectProblem(response, 404, 'ORDER_NOT_FOUND');
    expect(response.headers[CONSUMED]).toBe('true');
  });

  it('422 PAYLOAD_MISMATCH for a copy with another body or path', async () => {
    const token = await orderToken();
    await postOrder(token);
    const otherBody = await postOrder(token, { item: 'book', quantity: 3 });
    expectProblem(otherBody, 422, 'PAYLOAD_MISMATCH');
    expect(otherBody.headers[CONSUMED]).toBe('true');

    const [a, b] = [
      (await postOrder(await orderToken())).body,
      (await postOrder(await orderToken())).body,
    ];
    const cancelToken = await fetchToken(url, { apiKey: ALICE });
    const cancel = (id: string) =>
      request(url)
        .post(`/orders/${id}/cancel`)
        .set('Authorization', `Bearer ${ALICE}`)
        .set('Idempotency-Token', cancelToken);
    expect((await cancel(a.id)).status).toBe(200);
    expectProblem(await cancel(b.id), 422, 'PAYLOAD_MISMATCH');
  });

  it('400 TOKEN_UNKNOWN when another subject presents a used token, never the owner answer', async () => {
    const token = await orderToken(ALICE);
    const first = await postOrder(token, ORDER, ALICE);
    await sleep(50);
    const bob = await postOrder(token, ORDER, BOB);
    expectProblem(bob, 400, 'TOKEN_UNKNOWN');
    expect(bob.text).not.toContain(first.body.id);
    expect(bob.headers[CONSUMED]).toBeUndefined();
  });

  it('400 MALFORMED_REQUEST for a body that is not JSON; the token is not spent', async () => {
    const token = await orderToken();
    // Express' body-parser reads an empty body as no body (documented in docs/DESIGN.md); Fastify refuses it.
    const bodies =
      adapter === 'fastify'
        ? ['{"item": "book",', '{bad json}', '']
        : ['{"item": "book",', '{bad json}'];
    for (const body of bodies) {
      const response = await request(url)
        .post('/orders')
        .set('Authorization', `Bearer ${ALICE}`)
        .set('Idempotency-Token', token)
        .set('Content-Type', 'application/json')
        .send(body);
      expectProblem(response, 400, 'MALFORMED_REQUEST');
      expect(response.headers[CONSUMED]).toBeUndefined();
    }
    await expectUnspent(token);
  });

  it('413 PAYLOAD_TOO_LARGE for a body over 1 MiB; the token is not spent', async () => {
    const token = await orderToken();
    const response = await postOrder(token, { item: 'x'.repeat(1024 * 1024), quantity: 1 });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
    expect(response.headers[CONSUMED]).toBeUndefined();
    await expectUnspent(token);
  });

  it('400 VALIDATION_FAILED for an invalid body: the token is spent and the answer replayed', async () => {
    const token = await orderToken();
    const first = await postOrder(token, { item: '', quantity: 0 });
    expectProblem(first, 400, 'VALIDATION_FAILED');
    expect(first.body.errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('item'),
        expect.stringContaining('quantity'),
      ]),
    );
    expect(first.headers[CONSUMED]).toBe('true');
    await sleep(50);
    const copy = await postOrder(token, { item: '', quantity: 0 });
    expect(copy.status).toBe(400);
    expect(copy.text).toBe(first.text);
    expect(copy.headers['idempotent-replayed']).toBe('true');
  });

  it.each([
    ['an array', [ORDER]],
    ['a string', 'order'],
    ['a number', 42],
    ['null', null],
    ['extra fields', { ...ORDER, price: 1 }],
    ['a float quantity', { item: 'a', quantity: 1.5 }],
  ])('400 VALIDATION_FAILED for valid JSON that is %s', async (_name, body) => {
    const response = await request(url)
      .post('/orders')
      .set('Authorization', `Bearer ${ALICE}`)
      .set('Idempotency-Token', await orderToken())
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(body));
    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.headers[CONSUMED]).toBe('true');
  });

  it('same body with keys reordered and other whitespace is a replay', async () => {
    const token = await orderToken();
    const send = (raw: string) =>
      request(url)
        .post('/orders')
        .set('Authorization', `Bearer ${ALICE}`)
        .set('Idempotency-Token', token)
        .set('Content-Type', 'application/json')
        .send(raw);
    const first = await send('{"item":"pen","quantity":5}');
    await sleep(50);
    const copy = await send('{ "quantity": 5,\n  "item": "pen" }');
    expect(copy.status).toBe(201);
    expect(copy.body.id).toBe(first.body.id);
    expect(copy.headers['idempotent-replayed']).toBe('true');
  });
});
