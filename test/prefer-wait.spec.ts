import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { createRedisClient } from '@idempotency-tokens/nestjs';
import { issueToken } from '@idempotency-tokens/nestjs/testing';
import { Gate, ScenariosModule } from './fixtures/scenarios.module.js';
import { type RunningApp, sleep, startModule } from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedis,
  startRedisCluster,
} from './support/redis-harness.js';

/** Calls per command Redis executed, from INFO commandstats (commands inside scripts included). */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const stats = (await redis.info('commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm);
  return new Map([...stats].map(([, name, calls]) => [name, Number(calls)]));
}

/** `Prefer: wait=N` on copies of a request in progress, on a real Redis (and a Cluster). */
describe('copies that wait for the first answer (Prefer: wait)', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let appRedis: Redis;
  let app: RunningApp | undefined;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
    appRedis = (await connectRedis(server)) as Redis;
  });
  afterEach(async () => {
    app?.app.get(Gate).open(); // a held request would keep the app from closing
    await app?.close();
    app = undefined;
  });
  afterAll(async () => {
    await Promise.all([redis?.quit(), appRedis?.quit()]);
    await server?.stop();
  });

  /** Sends at once (a supertest request is sent when awaited): the order of sends is the test's. */
  const copy = (token: string, prefer?: string): Promise<request.Response> => {
    const call = request(app!.url).post('/scenarios/slow').set('Idempotency-Token', token);
    if (prefer) call.set('Prefer', prefer);
    return call.send({ n: 1 }).then((response) => response);
  };

  it('gives 50 copies that wait the first answer when it comes a second later: no 409, no polling storm', async () => {
    app = await startModule(ScenariosModule.forRoot({ redis: appRedis }));
    const gate = app.app.get(Gate);
    const token = await issueToken(app.app);
    const first = copy(token);
    await sleep(100); // the first is in progress
    const before = await commandCalls(redis);
    const copies = Promise.all(Array.from({ length: 50 }, () => copy(token, 'wait=5')));
    await sleep(1_000);
    gate.open();
    const [firstAnswer, answers] = await Promise.all([first, copies]);
    const after = await commandCalls(redis);
    const calls = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);

    expect(firstAnswer.status).toBe(201);
    for (const answer of answers) {
      expect(answer.status).toBe(201);
      expect(answer.headers['idempotent-replayed']).toBe('true');
      expect(answer.headers['preference-applied']).toBe('wait=5');
      expect(answer.body).toEqual(firstAnswer.body);
    }
    expect(gate.runs).toBe(1);
    // Per copy three script calls: its consume, its watch and its consume after the outcome; and
    // the outcome's one. While they wait nothing runs: a poll would show as script calls or as
    // TYPE calls beyond the one each script makes.
    expect(calls('evalsha') + calls('eval')).toBeLessThanOrEqual(3 * 50 + 2);
    expect(calls('type')).toBeLessThanOrEqual(calls('evalsha') + calls('eval') + 2);
    expect(calls('publish')).toBe(1);
  });

  it('still answers REQUEST_IN_PROGRESS after waiting, if the first has not finished; without the header it does not wait', async () => {
    app = await startModule(ScenariosModule.forRoot({ redis: appRedis }));
    const token = await issueToken(app.app);
    const first = copy(token);
    await sleep(100);
    const started = Date.now();
    const waited = await copy(token, 'wait=1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect([waited.status, waited.body.code]).toEqual([409, 'REQUEST_IN_PROGRESS']);
    expect(waited.headers['preference-applied']).toBeUndefined();
    const quick = Date.now();
    const plain = await copy(token);
    expect([plain.status, Date.now() - quick < 500]).toEqual([409, true]);
    app.app.get(Gate).open();
    expect((await first).status).toBe(201);
  });
});

describe('Prefer: wait on Redis Cluster (a poll per marker)', () => {
  let cluster: RedisClusterHandle;
  let client: ReturnType<typeof createRedisClient> | undefined;
  let app: RunningApp | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await client?.quit();
    await cluster?.stop();
  });

  it('gives waiting copies the first answer', async () => {
    client = createRedisClient({
      cluster: cluster.nodes.map(({ host, port }) => ({ host, port })),
    });
    app = await startModule(ScenariosModule.forRoot({ redis: client }));
    const token = await issueToken(app.app);
    const first = request(app.url)
      .post('/scenarios/slow')
      .set('Idempotency-Token', token)
      .send({})
      .then((response) => response);
    await sleep(100);
    const copies = Promise.all(
      Array.from({ length: 10 }, () =>
        request(app!.url)
          .post('/scenarios/slow')
          .set('Idempotency-Token', token)
          .set('Prefer', 'wait=5')
          .send({}),
      ),
    );
    await sleep(500);
    app.app.get(Gate).open();
    const [firstAnswer, answers] = await Promise.all([first, copies]);
    for (const answer of answers) {
      expect([answer.status, answer.headers['idempotent-replayed']]).toEqual([201, 'true']);
      expect(answer.body).toEqual(firstAnswer.body);
    }
  });
});
