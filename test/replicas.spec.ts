import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { RedisTokenStore, runOnce, StoreUnavailableError } from '@idempotency-tokens/nestjs';
import type { Redis } from 'ioredis';
import request from 'supertest';
import { Gate, ScenariosModule } from './fixtures/scenarios.module.js';
import type { AdapterKind } from '../src/app.setup.js';
import {
  ADAPTERS,
  CapturingLogger,
  fetchToken,
  type RunningApp,
  sleep,
  startModule,
  startService,
} from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/** Generous: a loaded CI machine must not miss it on the healthy path. */
const REPLICA_TIMEOUT_MS = 1_000;
/** After replicas missed a WAIT, first uses are refused without one this long (the store's rule). */
const REPLICAS_BEHIND_MS = 1_000;

async function timed<T>(send: () => PromiseLike<T>): Promise<{ answer: T; ms: number }> {
  const started = Date.now();
  const answer = await send();
  return { answer, ms: Date.now() - started };
}

/** Sends again while the answer is 503, as a client does, for a few seconds. */
async function untilNot503(send: () => PromiseLike<request.Response>): Promise<request.Response> {
  let answer = await send();
  for (
    const until = Date.now() + 3 * REPLICAS_BEHIND_MS;
    answer.status === 503 && Date.now() < until;
  ) {
    await sleep(100);
    answer = await send();
  }
  return answer;
}

/**
 * docs/CONTRACT.md, "Replicated Redis", on one primary and one replica: with `minReplicas: 1` a
 * claim counts, and an answer leaves, only once the replica has them; a replica that does not
 * acknowledge in time (stopped with SIGSTOP) turns a first use into 503 with nothing consumed.
 * The failovers themselves are in failover.spec.ts.
 */
describe('minReplicas on a primary with one replica', () => {
  let primary: RedisServerHandle;
  let replica: RedisServerHandle;
  let redis: Redis;
  let replicaClient: Redis;
  let replicaPid: number;
  const running: RunningApp[] = [];

  beforeAll(async () => {
    primary = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] });
    replica = await startRedis({ args: ['--replicaof', primary.host, String(primary.port)] });
    redis = (await connectRedis(primary)) as Redis;
    replicaClient = (await connectRedis(replica)) as Redis;
    // Online once the primary had the replica's first acknowledgement: WAIT counts it from then.
    while (!/slave0:.*state=online/.test(await redis.info('replication')))
      await new Promise((resolve) => setTimeout(resolve, 50));
    // And acknowledging: a write, then WAIT, before any test times a wait.
    await redis.set('replicas-test:warm-up', '1');
    expect(await redis.wait(1, 5_000)).toBe(1);
    replicaPid = Number(/process_id:(\d+)/.exec(await replicaClient.info('server'))![1]);
  });
  afterEach(async () => {
    process.kill(replicaPid, 'SIGCONT');
    await Promise.all(running.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    redis.disconnect();
    replicaClient.disconnect();
    await replica.stop();
    await primary.stop();
  });

  const scenarios = async (adapter: AdapterKind = 'fastify') => {
    const app = await startModule(
      ScenariosModule.forRoot({ redis, minReplicas: 1, replicaTimeoutMs: REPLICA_TIMEOUT_MS }),
      { adapter },
    );
    running.push(app);
    return { url: app.url, gate: app.app.get(Gate) };
  };
  const counted = (url: string, token: string, id: string) =>
    request(url).post('/scenarios/counted').set('Idempotency-Token', token).send({ id });

  it.each(ADAPTERS)(
    'answers a first use only once the replica holds its outcome (%s); a copy is replayed',
    async (adapter) => {
      const { url, gate } = await scenarios(adapter);
      const token = await fetchToken(url);
      const first = await counted(url, token, 'a');
      expect(first.status).toBe(201);
      // No wait for replication here: the answer itself waited for it.
      const [tag, id] = token.split('.');
      // The outcome, not the claim.
      expect(await replicaClient.type(`idem:{${tag}}:r:${id}`)).toBe('string');
      const copy = await counted(url, token, 'a');
      expect(copy.status).toBe(201);
      expect(copy.headers['idempotent-replayed']).toBe('true');
      expect(gate.runsOf.get('a')).toBe(1);
    },
  );

  it('answers 503 with nothing consumed while the replica lags; the token then works as a first use', async () => {
    const { url, gate } = await scenarios();
    const [token, other, replayed] = [
      await fetchToken(url),
      await fetchToken(url),
      await fetchToken(url),
    ];
    expect((await counted(url, replayed, 'r')).status).toBe(201);
    process.kill(replicaPid, 'SIGSTOP');
    const refused = await timed(() => counted(url, token, 'b'));
    expect(refused.ms).toBeGreaterThanOrEqual(REPLICA_TIMEOUT_MS - 20);
    expect(refused.answer.status).toBe(503);
    expect(refused.answer.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(refused.answer.headers['idempotency-token-consumed']).toBeUndefined();
    expect(gate.runsOf.get('b')).toBeUndefined();

    // Replicas known to be behind are not waited for again at once (a WAIT holds everything
    // behind it on the connection): the next first use is refused at once, and issuance and
    // replays, which never wait, answer at once.
    const next = await timed(() => counted(url, other, 'c'));
    expect([next.answer.status, gate.runsOf.get('c')]).toEqual([503, undefined]);
    expect(next.ms).toBeLessThan(REPLICA_TIMEOUT_MS / 2);
    const issued = await timed(() => request(url).get('/tokens'));
    expect([issued.answer.status, issued.ms < REPLICA_TIMEOUT_MS / 2]).toEqual([200, true]);
    const replay = await timed(() => counted(url, replayed, 'r'));
    expect([replay.answer.status, replay.answer.headers['idempotent-replayed']]).toEqual([
      201,
      'true',
    ]);
    expect(replay.ms).toBeLessThan(REPLICA_TIMEOUT_MS / 2);

    process.kill(replicaPid, 'SIGCONT');
    const retried = await untilNot503(() => counted(url, token, 'b'));
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(gate.runsOf.get('b')).toBe(1);
  });

  it('answers a replay at once, though a first use sent with it waits for the replica', async () => {
    const store = new RedisTokenStore(redis, {
      minReplicas: 1,
      replicaTimeoutMs: REPLICA_TIMEOUT_MS,
      keyPrefix: 'batch-test:',
    });
    const limits = { bucket: 'b', rateLimit: 1_000, windowMs: 60_000, maxOutstanding: 1_000 };
    const used = { tag: 'batch', id: 'used-token-0001' };
    const fresh = { tag: 'batch', id: 'fresh-token-001' };
    for (const ref of [used, fresh])
      await store.issue({ ref, binding: 'b', ttlMs: 60_000, limits });
    const consume = (ref: typeof used, owner: string) =>
      store.consume({
        ref,
        bucket: 'b',
        binding: 'b',
        fingerprint: 'f',
        owner,
        leaseMs: 5_000,
        keepMs: 60_000,
      });
    expect(await consume(used, 'first')).toEqual({ state: 'first' });
    expect(await store.recordOutcome(used, 'first', 'the answer', 60_000)).toBe(true);

    process.kill(replicaPid, 'SIGSTOP');
    // Sent in one turn: one pipeline, one WAIT behind both scripts.
    const firstUse = timed(() => consume(fresh, 'second').catch((error: unknown) => error));
    const replay = timed(() => consume(used, 'copy'));
    expect((await replay).answer).toEqual({ state: 'done', outcome: 'the answer' });
    expect((await replay).ms).toBeLessThan(REPLICA_TIMEOUT_MS / 2);
    expect((await firstUse).answer).toBeInstanceOf(StoreUnavailableError);
    expect((await firstUse).ms).toBeGreaterThanOrEqual(REPLICA_TIMEOUT_MS - 20);
  });

  it('treats a client-chosen key the same way (POST /payments)', async () => {
    const service = await startService({ REDIS_URL: primary.url, REDIS_MIN_REPLICAS: '1' });
    running.push(service);
    const pay = () =>
      request(service.url)
        .post('/payments')
        .set('Idempotency-Key', `replica-test-${primary.port}`)
        .send({ orderId: 'o-1', amountCents: 500 });
    process.kill(replicaPid, 'SIGSTOP');
    const refused = await pay();
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    process.kill(replicaPid, 'SIGCONT');
    const first = await untilNot503(pay);
    expect(first.status).toBe(201);
    const copy = await pay();
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(copy.body.id).toBe(first.body.id);
  });

  it('runOnce: a claim the replica does not acknowledge is given back, and runs later once', async () => {
    const store = new RedisTokenStore(redis, {
      minReplicas: 1,
      replicaTimeoutMs: REPLICA_TIMEOUT_MS,
      keyPrefix: 'replicas-test:',
    });
    let runs = 0;
    const work = async () => ++runs;
    process.kill(replicaPid, 'SIGSTOP');
    await expect(runOnce('message-1', work, { store })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(runs).toBe(0);
    process.kill(replicaPid, 'SIGCONT');
    // As the broker redelivers a message its consumer could not take.
    await sleep(REPLICAS_BEHIND_MS);
    expect(await runOnce('message-1', work, { store })).toEqual({ outcome: 'ran', result: 1 });
    expect(await runOnce('message-1', work, { store })).toEqual({
      outcome: 'duplicate',
      result: 1,
    });
    expect(runs).toBe(1);
  });

  it('logs an outcome the replica did not acknowledge, and still answers and replays it', async () => {
    const logger = new CapturingLogger();
    const app = await startModule(
      ScenariosModule.forRoot({ redis, minReplicas: 1, replicaTimeoutMs: REPLICA_TIMEOUT_MS }),
      { logger },
    );
    running.push(app);
    const gate = app.app.get(Gate);
    const token = await fetchToken(app.url);
    // Stop the replica after the claim was acknowledged, while the handler runs.
    const answer = request(app.url)
      .post('/scenarios/slow')
      .set('Idempotency-Token', token)
      .send({ n: 1 })
      .then((response) => response);
    while (gate.runs === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    process.kill(replicaPid, 'SIGSTOP');
    gate.open();
    const first = await answer;
    expect(first.status).toBe(201);
    expect(logger.lines.join('\n')).toMatch(/Outcome write failed .*fewer than 1 replica/);
    expect(logger.lines.join('\n')).not.toContain(token);
    process.kill(replicaPid, 'SIGCONT');
    const copy = await request(app.url)
      .post('/scenarios/slow')
      .set('Idempotency-Token', token)
      .send({ n: 1 });
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(gate.runs).toBe(1);
  });

  it('refuses at start a replica wait the client would give up on first', () => {
    expect(() => new RedisTokenStore(redis, { minReplicas: 1, replicaTimeoutMs: 2_000 })).toThrow(
      /replicaTimeoutMs \(2000\) must be below the Redis client's commandTimeout \(2000\)/,
    );
    // Without replicas to wait for, no wait to check.
    expect(() => new RedisTokenStore(redis, { replicaTimeoutMs: 2_000 })).not.toThrow();
  });
});
