import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { type ChildProcess, spawn } from 'node:child_process';
import request from 'supertest';
import { fetchToken, sleep, TEST_SECRET } from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { getFreePort, type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** docs/CONTRACT.md: on SIGTERM stop accepting, finish in-flight requests, record outcomes, close Redis, exit 0. */
describe('graceful shutdown of the built service', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let child: ChildProcess;
  let output = '';

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await redis.quit();
    await server.stop();
  });

  it('lets a request in flight at SIGTERM finish, stores its outcome, and exits 0', async () => {
    const port = await getFreePort();
    child = spawn(process.execPath, [new URL('../dist/main.js', import.meta.url).pathname], {
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

    const url = `http://127.0.0.1:${port}`;
    const token = await fetchToken(url, { scope: 'orders.create' });
    // Hold Redis writes so that the request is still in flight when SIGTERM arrives.
    await redis.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    const inFlight = request(url)
      .post('/orders')
      .set('Idempotency-Token', token)
      .send({ item: 'last', quantity: 1 })
      .then((r) => r);
    await sleep(300);
    child.kill('SIGTERM');

    const response = await inFlight;
    expect(response.status).toBe(201);
    expect(await exited).toBe(0);

    const [marker] = await redis.keys('idem:*:r:*');
    const outcome = JSON.parse((await redis.hget(marker, 'r'))!);
    expect(outcome).toMatchObject({ status: 201 });
    expect(JSON.parse(outcome.body)).toMatchObject({ id: response.body.id, item: 'last' });
    expect(output).not.toContain(token);
  }, 30_000);
});
