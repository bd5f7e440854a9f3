import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import request from 'supertest';
import { createApp } from '../src/app.setup.js';
import { CONTRACT_HTTP_LIMITS } from '../src/http/fastify-adapter.js';
import { AppModule } from '../src/app.module.js';
import { loadConfig } from '../src/config/app-config.js';
import { MAX_HEADER_FIELDS } from '../src/http/http-errors.js';
import {
  fetchToken,
  type RunningApp,
  sleep,
  startService,
  type StartOptions,
  TEST_SECRET,
} from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

interface RawExchange {
  /** Everything the server wrote before it closed the connection (or the wait ended). */
  text: string;
  closed: boolean;
  /** Milliseconds from connecting to the close. */
  closedAfterMs?: number;
}

/** Connects, writes `parts` with `gapMs` between them, and collects the answer until close or `waitMs`. */
function exchange(
  url: string,
  parts: string[],
  { gapMs = 0, waitMs = 3_000 }: { gapMs?: number; waitMs?: number } = {},
): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname);
    const result: RawExchange = { text: '', closed: false };
    socket.on('data', (chunk) => (result.text += chunk));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(result);
    }, waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      result.closed = true;
      result.closedAfterMs = Date.now() - started;
      resolve(result);
    });
    void (async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        await sleep(gapMs);
      }
    })();
  });
}

/** `count` header fields `X-<i>: 1`. */
const headerFields = (count: number) =>
  Array.from({ length: count }, (_, i) => `X-${i}: 1\r\n`).join('');

function problemOf(text: string) {
  const [head, body] = text.split('\r\n\r\n');
  return { head, status: Number(head.split(' ')[1]), body: JSON.parse(body) };
}

/** the contract's HTTP layer on Fastify: its own refusals, slow clients, connection caps. */
describe('the HTTP layer', () => {
  let server: RedisServerHandle;
  const running: RunningApp[] = [];

  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    await server.stop();
  });

  const service = async (env: Record<string, string> = {}, http: StartOptions['http'] = {}) => {
    const app = await startService({ REDIS_URL: server.url, ...env }, { http });
    running.push(app);
    return app.url;
  };

  it.each([
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400, 'BAD_REQUEST'],
    ['an unknown method', 'FOO /tokens HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'BAD_REQUEST'],
    [
      'a malformed header line',
      'GET /tokens HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    [
      'a 20 KB header',
      `GET /tokens HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      'too many headers, over 16 KiB in all',
      `GET /tokens HTTP/1.1\r\nHost: x\r\n${headerFields(3_000)}\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      `too many headers, ${MAX_HEADER_FIELDS + 1} small ones`,
      `GET /tokens HTTP/1.1\r\nHost: x\r\n${headerFields(MAX_HEADER_FIELDS)}\r\n`,
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      'a URL that is not valid percent-encoding',
      'GET /% HTTP/1.1\r\nHost: x\r\n\r\n',
      400,
      'BAD_REQUEST',
    ],
    ['an unknown route', 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', 404, 'NOT_FOUND'],
    [
      'a method the path has no route for',
      'DELETE /tokens HTTP/1.1\r\nHost: x\r\n\r\n',
      405,
      'METHOD_NOT_ALLOWED',
    ],
  ])(
    'answers %s with problem details and the security headers',
    async (_what, raw, status, code) => {
      const answer = await exchange(await service(), [raw], { waitMs: 1_000 });
      const problem = problemOf(answer.text);
      expect(problem.status).toBe(status);
      expect(problem.head.toLowerCase()).toContain('content-type: application/problem+json');
      expect(problem.head.toLowerCase()).toMatch(/\r\nx-content-type-options: nosniff(\r\n|$)/);
      expect(problem.head.toLowerCase()).toMatch(/\r\nreferrer-policy: no-referrer(\r\n|$)/);
      expect(problem.body).toMatchObject({
        status,
        code,
        type: expect.stringMatching(/^urn:problem:/),
      });
      if (status === 405) expect(problem.head.toLowerCase()).toContain('allow: get\r\n');
    },
  );

  it(`serves a request with ${MAX_HEADER_FIELDS} header fields`, async () => {
    const raw = `GET /health HTTP/1.1\r\nHost: x\r\n${headerFields(MAX_HEADER_FIELDS - 1)}\r\n`;
    const answer = await exchange(await service(), [raw], { waitMs: 1_000 });
    expect(answer.text).toMatch(/^HTTP\/1.1 200/);
  });

  it('names the methods a path answers in a 405 (POST /orders/:id/cancel)', async () => {
    const response = await request(await service()).get('/orders/abc/cancel');
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('POST');
    expect(response.body.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('holds the contract time-outs when none are given', async () => {
    const config = loadConfig({ TOKEN_SECRET: TEST_SECRET, LOG_LEVEL: 'silent' });
    const app = await createApp(AppModule.forRoot(config), { logger: false });
    try {
      const http = app.getHttpServer();
      expect(CONTRACT_HTTP_LIMITS).toEqual({
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 72_000,
        maxConnectionsPerAddress: 256,
      });
      expect(http.headersTimeout).toBe(10_000);
      expect(http.requestTimeout).toBe(30_000);
      expect(http.keepAliveTimeout).toBeLessThanOrEqual(75_000);
      expect(http.keepAliveTimeout).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('cuts headers that arrive too slowly with 408 REQUEST_TIMEOUT', async () => {
    const url = await service({}, { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const slow = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '.split('');
    const answer = await exchange(url, slow, { gapMs: 200, waitMs: 15_000 });
    expect(answer.closed).toBe(true);
    expect(answer.closedAfterMs).toBeLessThan(5_000); // the bound plus Node's 1 s check, with room
    expect(problemOf(answer.text).body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });
  });

  it('cuts a body that arrives too slowly with 408 REQUEST_TIMEOUT, before the token is spent', async () => {
    const url = await service({}, { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 });
    const token = await fetchToken(url, { scope: 'orders.create' });
    const body = '{"item":"slow","quantity":1}';
    const head =
      `POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Idempotency-Token: ${token}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const answer = await exchange(url, [head, ...body.split('')], { gapMs: 300, waitMs: 15_000 });
    expect(answer.closed).toBe(true);
    expect(answer.closedAfterMs).toBeLessThan(6_000);
    expect(problemOf(answer.text).body).toMatchObject({ status: 408, code: 'REQUEST_TIMEOUT' });

    const placed = await request(url)
      .post('/orders')
      .set('Idempotency-Token', token)
      .send({ item: 'slow', quantity: 1 });
    expect(placed.status).toBe(201); // the cut request spent nothing
  }, 30_000);

  it('closes an idle keep-alive connection after the keep-alive time-out', async () => {
    const url = await service({}, { keepAliveTimeoutMs: 500 });
    const answer = await exchange(url, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], {
      waitMs: 10_000,
    });
    expect(answer.text).toMatch(/^HTTP\/1.1 200/);
    expect(answer.closed).toBe(true);
    expect(answer.closedAfterMs).toBeLessThan(5_000);
  });

  it('caps the connections one address holds: the extra one is closed at once, a freed place is reused', async () => {
    const url = await service({ MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const { port } = new URL(url);
    const open = async () => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    };
    const held: Socket[] = [await open(), await open(), await open()];
    await sleep(100);
    const extra = await exchange(url, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], {
      waitMs: 3_000,
    });
    expect(extra.closed).toBe(true);
    expect(extra.text).toBe('');

    held.pop()!.destroy();
    await sleep(200);
    expect((await request(url).get('/health')).status).toBe(200);
    held.forEach((socket) => socket.destroy());
  });
});
