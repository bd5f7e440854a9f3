import { describe, expect, it } from '@jest/globals';
import { operationMatcher } from './operations.js';
import { withIdempotency } from './token-layer.js';

type Answer = { status: number; code?: string; consumed?: boolean; retryAfter?: string; next?: string } | 'network error';

/**
 * A scripted server: `GET …/tokens` hands out tok-1, tok-2, …; every other request gets the
 * next scripted answer. Records what was sent. (The live contract is tested end to end in the
 * repository's test/client.spec.ts.)
 */
function server(answers: Answer[]) {
  const sent: string[] = [];
  let tokens = 0;
  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname.endsWith('/tokens')) {
      sent.push(`GET ${url.pathname}${url.search}`);
      return Response.json({ token: `tok-${++tokens}` });
    }
    const credential = request.headers.get('idempotency-token') ?? request.headers.get('idempotency-key');
    sent.push(`${request.method} ${url.pathname} ${credential} ${await request.text()}`);
    const answer = answers.shift() ?? { status: 201 };
    if (answer === 'network error') throw new TypeError('fetch failed');
    const headers: Record<string, string> = {};
    if (answer.code) headers['content-type'] = 'application/problem+json';
    if (answer.consumed) headers['idempotency-token-consumed'] = 'true';
    if (answer.retryAfter) headers['retry-after'] = answer.retryAfter;
    if (answer.next) headers['idempotency-token-next'] = answer.next;
    if (request.headers.get('prefer')) sent.push(`  prefer: ${request.headers.get('prefer')}`);
    return new Response(answer.code ? JSON.stringify({ code: answer.code }) : '{}', { status: answer.status, headers });
  };
  return { fetch, sent };
}

const operations = {
  'POST /orders': { scope: 'orders.create', replay: true },
  'POST /orders/{id}/cancel': { scope: null, replay: false },
  'POST /payments': { scope: 'payments.create', replay: true, credential: 'key' },
  'POST /carts': { scope: 'carts', replay: true, rotate: true },
} as const;
const post = { method: 'POST', body: '{"n":1}' };

describe('operationMatcher', () => {
  it('matches method and path template, one segment per parameter', () => {
    const match = operationMatcher(operations);
    expect(match('POST', '/orders')).toBe(operations['POST /orders']);
    expect(match('POST', '/orders/42/cancel')).toBe(operations['POST /orders/{id}/cancel']);
    expect(match('GET', '/orders')).toBeUndefined();
    expect(match('POST', '/orders/4/2/cancel')).toBeUndefined();
    expect(match('POST', '/ordersx')).toBeUndefined();
  });
});

describe('withIdempotency', () => {
  it.each([
    ['an absolute base URL with a path', 'http://api.test/v1', 'http://api.test/v1/orders', '/v1'],
    ['a base path relative to the page', '/api', 'http://page.test/api/orders', '/api'],
    ['the page origin itself', '', 'http://page.test/orders', ''],
  ])('finds operations and GET /tokens under %s', async (_what, baseUrl, url, prefix) => {
    const { fetch, sent } = server([]);
    const response = await withIdempotency({ baseUrl, operations, fetch })(url, post);
    expect(response.status).toBe(201);
    expect(sent).toEqual([`GET ${prefix}/tokens?scope=orders.create`, `POST ${prefix}/orders tok-1 {"n":1}`]);
  });

  it("returns GET /tokens' refusal as the call's answer, and sends nothing", async () => {
    const sent: string[] = [];
    const fetch = async (request: Request) => {
      sent.push(`${request.method} ${new URL(request.url).pathname}`);
      return Response.json({ code: 'TOKEN_RATE_LIMITED' }, { status: 429, headers: { 'retry-after': '7' } });
    };
    const response = await withIdempotency({ operations, fetch })('http://api.test/orders', post);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({ code: 'TOKEN_RATE_LIMITED' });
    expect(sent).toEqual(['GET /tokens']);
  });

  it('treats an empty Idempotency-Token header as none, and fetches a token', async () => {
    const { fetch, sent } = server([]);
    await withIdempotency({ operations, fetch })('http://api.test/orders', { ...post, headers: { 'idempotency-token': '' } });
    expect(sent).toEqual(['GET /tokens?scope=orders.create', 'POST /orders tok-1 {"n":1}']);
  });

  it('passes other requests through untouched', async () => {
    const { fetch, sent } = server([]);
    await withIdempotency({ operations, fetch })('http://api.test/health');
    expect(sent).toEqual(['GET /health null ']);
  });

  it('resends the same request with the same token after lost answers, then gives up', async () => {
    const { fetch, sent } = server(['network error', { status: 503, code: 'STORE_UNAVAILABLE', retryAfter: '0' }, { status: 504 }, 'network error']);
    const layered = withIdempotency({ operations, fetch, retryDelayMs: 1, maxLostAnswerRetries: 3 });
    await expect(layered('http://api.test/orders', post)).rejects.toThrow(/no answer after 4 attempts/);
    expect(sent.slice(1)).toEqual(Array(4).fill('POST /orders tok-1 {"n":1}'));
  });

  it('waits while the first request is in progress, then returns its replay', async () => {
    const { fetch, sent } = server([{ status: 409, code: 'REQUEST_IN_PROGRESS', consumed: true, retryAfter: '0' }, { status: 201 }]);
    const response = await withIdempotency({ operations, fetch })('http://api.test/orders', post);
    expect(response.status).toBe(201);
    // The retry asks the server to hold it until the first answer is there.
    expect(sent).toEqual(['GET /tokens?scope=orders.create', 'POST /orders tok-1 {"n":1}', 'POST /orders tok-1 {"n":1}', '  prefer: wait=10']);
  });

  it('fetches one fresh token when nothing was consumed, and no more', async () => {
    const { fetch, sent } = server([{ status: 400, code: 'TOKEN_UNKNOWN' }, { status: 400, code: 'TOKEN_UNKNOWN' }]);
    const response = await withIdempotency({ operations, fetch })('http://api.test/orders', post);
    expect(response.status).toBe(400);
    expect(sent.filter((line) => line.startsWith('POST'))).toEqual(['POST /orders tok-1 {"n":1}', 'POST /orders tok-2 {"n":1}']);
  });

  it('never fetches a fresh token once an answer said the token was consumed', async () => {
    // In progress, then the outcome expired before the next ask: the handler ran, so resending is wrong.
    const { fetch, sent } = server([{ status: 409, code: 'REQUEST_IN_PROGRESS', consumed: true, retryAfter: '0' }, { status: 400, code: 'TOKEN_UNKNOWN' }]);
    const response = await withIdempotency({ operations, fetch })('http://api.test/orders', post);
    expect(response.status).toBe(400);
    expect(sent.filter((line) => line.startsWith('GET'))).toHaveLength(1);
  });

  it('uses the token the caller gave, and sends nothing again after a final answer', async () => {
    const { fetch, sent } = server([{ status: 409, code: 'TOKEN_USED', consumed: true }]);
    const response = await withIdempotency({ operations, fetch })('http://api.test/orders/7/cancel', { ...post, headers: { 'idempotency-token': 'mine' } });
    expect(response.status).toBe(409);
    expect(sent).toEqual(['POST /orders/7/cancel mine {"n":1}']);
  });

  it('makes one UUID v4 key per call for a key operation, and sends it on every retry of that call', async () => {
    const { fetch, sent } = server(['network error', { status: 409, code: 'REQUEST_IN_PROGRESS', retryAfter: '0' }, { status: 201 }, { status: 201 }]);
    const layered = withIdempotency({ operations, fetch, retryDelayMs: 1 });
    expect((await layered('http://api.test/payments', post)).status).toBe(201);
    await layered('http://api.test/payments', post);
    const posts = sent.filter((line) => !line.startsWith('  prefer'));
    const keys = posts.map((line) => line.split(' ')[2]);
    expect(posts.every((line) => line.startsWith('POST /payments'))).toBe(true); // no GET /tokens
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys.slice(0, 3)).toEqual([keys[0], keys[0], keys[0]]);
    expect(keys[3]).not.toBe(keys[0]);
  });

  it("uses the caller's own key, and fetches nothing after a key refusal", async () => {
    const { fetch, sent } = server([{ status: 400, code: 'IDEMPOTENCY_KEY_INVALID' }]);
    const response = await withIdempotency({ operations, fetch })('http://api.test/payments', { ...post, headers: { 'idempotency-key': 'my-own-key-1' } });
    expect(response.status).toBe(400);
    expect(sent).toEqual(['POST /payments my-own-key-1 {"n":1}']);
  });

  it('asks a rotating operation for the next token and uses it for the next call, per caller', async () => {
    const { fetch, sent } = server([{ status: 201, next: 'tok-next-a' }, { status: 201 }, { status: 201 }]);
    const layered = withIdempotency({ operations, fetch });
    await layered('http://api.test/carts', { ...post, headers: { authorization: 'Bearer a' } });
    await layered('http://api.test/carts', { ...post, headers: { authorization: 'Bearer a' } });
    await layered('http://api.test/carts', { ...post, headers: { authorization: 'Bearer b' } });
    expect(sent).toEqual([
      'GET /tokens?scope=carts',
      'POST /carts tok-1 {"n":1}',
      '  prefer: next-token',
      'POST /carts tok-next-a {"n":1}', // handed on: no GET /tokens
      '  prefer: next-token',
      'GET /tokens?scope=carts', // another caller: not the first caller's token
      'POST /carts tok-2 {"n":1}',
      '  prefer: next-token',
    ]);
  });
});
