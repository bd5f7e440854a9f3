import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { fetchToken, type RunningApp, sleep, startService } from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/**
 * Watches the commands clients send, through MONITOR: a command a Lua script runs is reported
 * with source `lua` and is not a round trip, so it is left out.
 */
async function watchCommands(
  server: RedisServerHandle,
): Promise<{ sent: string[][]; stop(): Promise<void> }> {
  const client = (await connectRedis(server)) as Redis;
  const monitor = await client.monitor();
  const sent: string[][] = [];
  let watching = true;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (watching && source !== 'lua') sent.push(args);
  });
  const stop = async () => {
    watching = false; // our own QUIT is not the app's
    monitor.disconnect();
    await client.quit();
  };
  return { sent, stop };
}

describe('Redis round trips', () => {
  let server: RedisServerHandle;
  let service: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
    // Without the demo's order placed events: their queue and consumer use Redis too, after the
    // answer, and are not the token path these counts are about.
    service = await startService({ REDIS_URL: server.url, ORDER_EVENTS_QUEUE: 'off' });
  });
  afterAll(async () => {
    await service.close();
    await server.stop();
  });

  /** Script calls (EVALSHA and EVAL) Redis executed, from INFO commandstats. */
  const scriptCalls = async (redis: Redis) =>
    [
      ...(await redis.info('commandstats')).matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm),
    ].reduce((sum, [, , calls]) => sum + Number(calls), 0);

  /**
   * The commands the app sent to Redis while `action` ran, by name, from MONITOR; checked
   * against the script calls INFO commandstats counted in the same time.
   */
  const measure = async (action: () => Promise<unknown>) => {
    await sleep(50); // let earlier fire-and-forget writes land
    const stats = (await connectRedis(server)) as Redis;
    await stats.config('RESETSTAT');
    const watch = await watchCommands(server);
    await action();
    await sleep(100);
    await watch.stop();
    const sent = watch.sent.map(([name]) => name.toLowerCase());
    expect(await scriptCalls(stats)).toBe(sent.filter((name) => name.startsWith('eval')).length);
    await stats.quit();
    return sent;
  };

  it('issuing a token is one Redis command', async () => {
    await fetchToken(service.url); // scripts loaded once, not counted below
    expect(await measure(() => fetchToken(service.url))).toEqual(['evalsha']);
  });

  it('a first use is one command to consume and one to record the outcome', async () => {
    await request(service.url)
      .post('/orders')
      .set('Idempotency-Token', await fetchToken(service.url, { scope: 'orders.create' }))
      .send({ item: 'a', quantity: 1 });
    const token = await fetchToken(service.url, { scope: 'orders.create' });
    const calls = await measure(() =>
      request(service.url)
        .post('/orders')
        .set('Idempotency-Token', token)
        .send({ item: 'a', quantity: 1 })
        .expect(201),
    );
    expect(calls).toEqual(['evalsha', 'evalsha']);
  });

  it('a forged token (valid shape, wrong signature) never reaches Redis', async () => {
    const token = await fetchToken(service.url, { scope: 'orders.create' });
    const forged = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const calls = await measure(() =>
      request(service.url)
        .post('/orders')
        .set('Idempotency-Token', forged)
        .send({ item: 'a', quantity: 1 })
        .expect(400),
    );
    expect(calls).toEqual([]);
  });
});
