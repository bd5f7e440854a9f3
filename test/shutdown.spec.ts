import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import request from 'supertest';
import { fetchToken, sleep, TEST_SECRET } from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { getFreePort, type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** The built service; `SERVICE_MAIN` points at another build (one made with `tsc --outDir`). */
const MAIN = process.env.SERVICE_MAIN ?? new URL('../dist/main.js', import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  port: number;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

/** A keep-alive POST, as a load balancer sends it; resolves with the status and Connection header. */
function keepAlivePost(agent: Agent, port: number, token: string, body: string) {
  return new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
    const call = httpRequest(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': 'application/json', 'idempotency-token': token },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            connection: response.headers.connection,
            body: text,
          }),
        );
      },
    );
    call.on('error', reject);
    call.end(body);
  });
}

/** A raw connection that writes `text` and stays open; `closedAt` resolves with when the server closed it. */
async function holdConnection(port: number, text: string) {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  const closedAt = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  await new Promise((resolve) => socket.once('connect', resolve));
  if (text) socket.write(text);
  return { closedAt, received: () => received };
}

/** docs/CONTRACT.md: on SIGTERM stop accepting, finish in-flight requests, record outcomes, close Redis, exit 0. */
describe('graceful shutdown of the built service', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let current: Started | undefined;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
  });
  afterEach(async () => {
    current?.child.kill('SIGKILL');
    current = undefined;
    await redis.flushall();
  });
  afterAll(async () => {
    await redis.quit();
    await server.stop();
  });

  async function start(): Promise<Started> {
    const port = await getFreePort();
    let output = '';
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        PORT: String(port),
        REDIS_URL: server.url,
        TOKEN_SECRET: TEST_SECRET,
      },
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    for (let i = 0; i < 100 && !output.includes('Ready'); i++) await sleep(100);
    const ready = output.split('\n').find((line) => line.includes('Ready'));
    expect(JSON.parse(ready!)).toMatchObject({
      level: 30,
      msg: `Ready: listening on port ${port}`,
    });
    current = { child, port, url: `http://127.0.0.1:${port}`, exited, output: () => output };
    return current;
  }

  it('listens on IPv6 and IPv4', async () => {
    const { port } = await start();
    expect((await request(`http://127.0.0.1:${port}`).get('/health')).status).toBe(200);
    expect((await request(`http://[::1]:${port}`).get('/health')).status).toBe(200);
  });

  it('lets a keep-alive request in flight at SIGTERM finish with Connection: close, stores its outcome, and exits 0 at once', async () => {
    const { child, port, url, exited, output } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const token = await fetchToken(url, { scope: 'orders.create' });
    // The in-flight request goes on a keep-alive connection that already served one.
    await keepAlivePost(
      agent,
      port,
      await fetchToken(url, { scope: 'orders.create' }),
      '{"item":"a","quantity":1}',
    );
    // An idle keep-alive connection must be closed at once and not hold the shutdown up.
    const idle = await holdConnection(port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 50 && !idle.received().includes('"ok"'); i++) await sleep(20);
    expect(idle.received()).toMatch(/^HTTP\/1.1 200/);
    // Hold Redis writes so that the request is still in flight when SIGTERM arrives (well
    // within the 2 s command time-out less its 500 ms margin: a later consume is refused, 503).
    await redis.call('CLIENT', 'PAUSE', '1000', 'WRITE');
    const inFlight = keepAlivePost(agent, port, token, '{"item":"last","quantity":1}');
    await sleep(300);
    const signalled = Date.now();
    child.kill('SIGTERM');

    expect((await idle.closedAt) - signalled).toBeLessThan(1_000); // still paused: not after the in-flight one
    const response = await inFlight;
    expect(response.status).toBe(201);
    expect(response.connection).toBe('close');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000); // not the 10 s grace, not the keep-alive time-out
    agent.destroy();

    // Recorded markers hold the answer as sent: status line (` json`: the usual JSON content
    // type), headers, empty line, body.
    const markers = await Promise.all(
      (await redis.keys('idem:*:r:*')).map((key) => redis.get(key)),
    );
    const last = markers.find((marker) => marker?.includes('"item":"last"'));
    expect(last).toContain(`201 json\n`);
    expect(last).toContain(`\n\n${response.body}`);
    expect(output()).not.toContain(token);
  }, 30_000);

  it('cuts requests that have not reached a handler (an upload, headers still arriving, a silent connection), and exits 0 at once', async () => {
    const { child, port, url, exited } = await start();
    const token = await fetchToken(url, { scope: 'orders.create' });
    const arriving = await Promise.all([
      holdConnection(
        port,
        `POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
          `Idempotency-Token: ${token}\r\nContent-Length: 1000\r\n\r\n{"item":`,
      ),
      holdConnection(port, `POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-To`),
      holdConnection(port, ''),
    ]);
    await sleep(300);
    const signalled = Date.now();
    child.kill('SIGTERM');
    for (const connection of arriving) {
      expect((await connection.closedAt) - signalled).toBeLessThan(3_000);
      expect(connection.received()).toBe(''); // cut, not answered
    }
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5_000); // not the 10 s grace
    expect(await redis.keys('idem:*:r:*')).toEqual([]); // the token was not spent
  }, 30_000);
});
