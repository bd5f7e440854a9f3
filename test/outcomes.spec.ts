import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { Gate, ScenariosModule } from './fixtures/scenarios.module.js';
import {
  ADAPTERS,
  fetchToken,
  type RunningApp,
  sleep,
  startModule,
} from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

const CONSUMED = 'idempotency-token-consumed';
const REPLAYED = 'idempotent-replayed';
/** Seconds a first request counts as in progress in these tests. */
const LEASE_SECONDS = 2;

/** What copies learn about the first request: the contract's handler table rows about copies. */
describe.each(ADAPTERS)('outcomes on %s', (adapter) => {
  let server: RedisServerHandle;
  let redis: Redis;
  let app: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    redis = (await connectRedis(server)) as Redis;
    app = await startModule(
      ScenariosModule.forRoot({ redis, inProgressTtlSeconds: LEASE_SECONDS }),
      { adapter },
    );
  });
  afterEach(async () => {
    app.app.get(Gate).open();
    await app.close();
    redis.disconnect();
  });

  const gate = () => app.app.get(Gate);
  const post = (path: string, token: string, body: object = { n: 1 }) =>
    request(app.url).post(`/scenarios/${path}`).set('Idempotency-Token', token).send(body);

  it('409 REQUEST_IN_PROGRESS with Retry-After: 1 while the first runs, then the replay', async () => {
    const token = await fetchToken(app.url);
    const first = post('slow', token);
    const firstDone = first.then((r) => r);
    await sleep(100);
    const copy = await post('slow', token);
    expect(copy.status).toBe(409);
    expect(copy.body.code).toBe('REQUEST_IN_PROGRESS');
    expect(copy.headers['retry-after']).toBe('1');
    expect(copy.headers[CONSUMED]).toBe('true');

    gate().open();
    const original = await firstDone;
    expect(original.status).toBe(201);
    await sleep(50);
    const replay = await post('slow', token);
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(original.text);
    expect(replay.headers[REPLAYED]).toBe('true');
    expect(gate().runs).toBe(1);
  });

  it('replays a thrown problem, and marks both answers as consumed', async () => {
    const token = await fetchToken(app.url);
    const first = await post('declined', token);
    expect(first.status).toBe(402);
    expect(first.body.code).toBe('PAYMENT_DECLINED');
    expect(first.headers[CONSUMED]).toBe('true');
    await sleep(50);
    const copy = await post('declined', token);
    expect(copy.status).toBe(402);
    expect(copy.text).toBe(first.text);
    expect(copy.headers['content-type']).toBe(first.headers['content-type']);
    expect(copy.headers[CONSUMED]).toBe('true');
    expect(copy.headers[REPLAYED]).toBe('true');
    expect(gate().runs).toBe(1);
  });

  it('replays an unexpected error as the same 500, without its message', async () => {
    const token = await fetchToken(app.url);
    const first = await post('crash', token);
    expect(first.status).toBe(500);
    expect(first.text).not.toContain('database');
    await sleep(50);
    const copy = await post('crash', token);
    expect(copy.status).toBe(500);
    expect(copy.text).toBe(first.text);
    expect(copy.headers[REPLAYED]).toBe('true');
    expect(gate().runs).toBe(1);
  });

  it('replays a text answer with its content type', async () => {
    const token = await fetchToken(app.url);
    const first = await post('text', token);
    await sleep(50);
    const copy = await post('text', token);
    expect(copy.status).toBe(first.status);
    expect(copy.text).toBe('a,b\n1,2\n');
    expect(copy.headers['content-type']).toBe(first.headers['content-type']);
    expect(copy.headers[REPLAYED]).toBe('true');
  });

  it('records the answer of a first request whose client left before it finished', async () => {
    const token = await fetchToken(app.url);
    const first = post('slow', token);
    first.catch(() => undefined);
    await sleep(100);
    first.abort(); // the client gives up while the handler still runs
    await sleep(50);
    gate().open();
    await sleep(150);
    const copy = await post('slow', token);
    expect(copy.status).toBe(201);
    expect(copy.headers[REPLAYED]).toBe('true');
    expect(copy.body).toEqual({ done: true, body: { n: 1 } });
    expect(gate().runs).toBe(1);
  });

  it('answers copies of an answer over maxStoredResponseBytes with TOKEN_USED', async () => {
    const token = await fetchToken(app.url);
    expect((await post('large', token)).status).toBe(201);
    await sleep(50);
    const copy = await post('large', token);
    expect(copy.status).toBe(409);
    expect(copy.body.code).toBe('TOKEN_USED');
    expect(copy.headers[CONSUMED]).toBe('true');
    expect(gate().runs).toBe(1);
  });

  it('replays a streamed answer byte for byte, bytes that are not UTF-8 included', async () => {
    const token = await fetchToken(app.url);
    const bytes = (response: request.Response) => Buffer.from(response.body as Buffer);
    const binary = (call: request.Test) =>
      call.buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    const first = await binary(post('stream', token));
    expect(first.status).toBe(201);
    await sleep(50);
    const copy = await binary(post('stream', token));
    expect(copy.status).toBe(201);
    expect(copy.headers[REPLAYED]).toBe('true');
    expect(bytes(copy)).toEqual(bytes(first));
    expect(bytes(copy)).toEqual(Buffer.from([0xff, 0x00, 0x61, 0xfe]));
    expect(copy.headers['content-type']).toBe(first.headers['content-type']);
    expect(gate().runs).toBe(1);
  });

  it('shows a first request stuck in another instance as in progress, then TOKEN_USED after the lease', async () => {
    // The first request runs on an instance whose handler never finishes (as one that died
    // mid-handler leaves it: consumed, nothing recorded); the copies reach this instance.
    const stuck = await startModule(
      ScenariosModule.forRoot({ redis, inProgressTtlSeconds: LEASE_SECONDS }),
      { adapter },
    );
    try {
      const token = await fetchToken(app.url);
      const first = request(stuck.url)
        .post('/scenarios/slow')
        .set('Idempotency-Token', token)
        .send({ n: 1 })
        .then((r) => r);
      await sleep(100);
      const copy = await post('slow', token);
      expect(copy.status).toBe(409);
      expect(copy.body.code).toBe('REQUEST_IN_PROGRESS');
      await sleep(LEASE_SECONDS * 1000 + 100);
      const later = await post('slow', token);
      expect(later.status).toBe(409);
      expect(later.body.code).toBe('TOKEN_USED');
      expect(later.headers[CONSUMED]).toBe('true');
      expect(stuck.app.get(Gate).runs).toBe(1);
      expect(gate().runs).toBe(0);
      stuck.app.get(Gate).open();
      await first;
    } finally {
      await stuck.close();
    }
  }, 15_000);

  it('lets a handler that outlives its lease record its outcome: copies see TOKEN_USED, then the replay', async () => {
    const token = await fetchToken(app.url);
    const first = post('slow', token).then((r) => r);
    await sleep(LEASE_SECONDS * 1000 + 100);
    expect((await post('slow', token)).body.code).toBe('TOKEN_USED');
    gate().open();
    expect((await first).status).toBe(201);
    await sleep(50);
    const replay = await post('slow', token);
    expect(replay.status).toBe(201);
    expect(replay.headers[REPLAYED]).toBe('true');
    expect(gate().runs).toBe(1);
  }, 15_000);
});

describe('Redis stopped between consume and outcome write', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let app: RunningApp;

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
    app = await startModule(ScenariosModule.forRoot({ redis, inProgressTtlSeconds: 4 }));
  });
  afterAll(async () => {
    app.app.get(Gate).open();
    await app.close();
    redis.disconnect();
    await server.stop();
  });

  it('still answers the client; a copy sees in progress, then TOKEN_USED; nothing runs twice', async () => {
    const gate = app.app.get(Gate);
    const token = await fetchToken(app.url);
    const post = () =>
      request(app.url).post('/scenarios/slow').set('Idempotency-Token', token).send({ n: 1 });
    const first = post().then((r) => r);
    await sleep(100);
    await redis.save(); // the marker survives the restart; the outcome write will not reach Redis
    await server.stop();
    gate.open();
    const answer = await first;
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ done: true, body: { n: 1 } });

    await server.start();
    let copy = await post();
    for (let i = 0; i < 50 && copy.status === 503; i++) {
      await sleep(100);
      copy = await post();
    }
    expect(copy.status).toBe(409);
    expect(copy.body.code).toBe('REQUEST_IN_PROGRESS');
    await sleep(4100);
    const later = await post();
    expect(later.status).toBe(409);
    expect(later.body.code).toBe('TOKEN_USED');
    expect(gate.runs).toBe(1);
  }, 30_000);
});
