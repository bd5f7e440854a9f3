import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import {
  type EventProcess,
  killProcess,
  spawnEventProcess,
  waitFor,
} from './support/event-process.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

/**
 * runOnce() under a real BullMQ on a real redis-server, with consumers in their own processes
 * (test/fixtures/bullmq-worker.mjs): a worker killed after its side effect and before its job
 * completes, the job handed to a second worker by BullMQ's stalled-job check, and publishers
 * that send a message twice.
 */
const WORKER_SCRIPT = new URL('./fixtures/bullmq-worker.mjs', import.meta.url).pathname;

/** Short BullMQ timings: a dead worker's job is taken for stalled within about two seconds. */
const LOCK_DURATION_MS = 1_000;
const STALLED_INTERVAL_MS = 500;
/** runOnce's lease: longer than BullMQ takes to hand a dead worker's job on. */
const LEASE_SECONDS = 4;
/** An `in_progress` delivery throws; BullMQ retries it: attempts × backoff outlast the lease. */
const JOB_OPTIONS = { attempts: 40, backoff: { type: 'fixed', delay: 250 } };

interface WorkerEvent {
  event: 'ready' | 'effect';
  worker: string;
  jobId?: string;
  effects?: number;
  /** When the side effect was done (Date.now() in the worker). */
  at?: number;
}

interface Delivery {
  worker: string;
  jobId: string;
  messageId: string;
  attemptsMade: number;
  at: number;
  /** runOnce's outcome, or `threw`: the work threw (runOnce rethrew it). */
  outcome: 'ran' | 'duplicate' | 'in_progress' | 'crashed' | 'threw';
}

type WorkerProcess = EventProcess<WorkerEvent>;

describe('runOnce in BullMQ processors, on a real Redis', () => {
  let server: RedisServerHandle;
  let redis: Redis;
  let queue: Queue | undefined;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis({ host: server.host, port: server.port, lazyConnect: true });
    await redis.connect();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
    await queue?.close();
    queue = undefined;
  });

  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  /** A worker process; resolves once its BullMQ Worker is connected. */
  async function startWorker(
    name: string,
    queueName: string,
    options: { afterCrash: 'retry' | 'skip'; hang?: boolean; autorun?: boolean },
  ): Promise<WorkerProcess> {
    const config = {
      port: server.port,
      queue: queueName,
      name,
      scope: queueName, // each test its own keys: its message ids are not another test's
      leaseSeconds: LEASE_SECONDS,
      afterCrash: options.afterCrash,
      hang: options.hang ?? false,
      autorun: options.autorun ?? true,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      maxStalledCount: 1,
    };
    const started = spawnEventProcess<WorkerEvent>(name, WORKER_SCRIPT, 'BULLMQ_WORKER', config);
    const { events, exited } = started;
    workers.push(started);
    await waitFor(
      () => events.some((e) => e.event === 'ready') || (exited() && fail(started, 'exited')),
      10_000,
      () => `worker ${name} ready:\n${started.output()}`,
    );
    return started;
  }

  function fail(worker: WorkerProcess, what: string): never {
    throw new Error(`worker ${worker.name} ${what}:\n${worker.output()}`);
  }

  /** SIGTERM (the worker closes BullMQ and Redis), SIGKILL if it is not gone within 3 s. */
  async function stopWorker(worker: WorkerProcess): Promise<void> {
    const pid = worker.child.pid!;
    if (worker.exited()) return;
    process.kill(pid, 'SIGTERM');
    const gone = await waitFor(worker.exited, 3_000, () => '').catch(() => false);
    if (!gone) await killProcess(worker);
  }

  function newQueue(): Queue {
    queue = new Queue(`orders-${randomUUID().slice(0, 8)}`, {
      connection: { host: server.host, port: server.port },
    });
    return queue;
  }

  async function deliveries(q: Queue): Promise<Delivery[]> {
    return (await redis.lrange(`${q.name}:deliveries`, 0, -1)).map((line) => JSON.parse(line));
  }

  async function effects(q: Queue, messageId: string): Promise<number> {
    return Number(await redis.get(`${q.name}:effects:${messageId}`));
  }

  /** Waits until the job is completed or failed; returns its state and the job. */
  async function settled(q: Queue, jobId: string) {
    const state = await waitFor(
      async () => {
        const now = await q.getJobState(jobId);
        return (now === 'completed' || now === 'failed') && now;
      },
      20_000,
      () => `job ${jobId} completed or failed`,
    );
    return { state, job: (await q.getJob(jobId))! };
  }

  /**
   * Worker A takes the job and runs its side effect, then hangs; A is killed, and worker B (started
   * before, idle until now) begins to take jobs. BullMQ's stalled check hands the job to B, whose
   * deliveries meet A's lease (in_progress, retried with backoff) until it runs out, then the
   * afterCrash rule.
   */
  async function killAfterEffect(afterCrash: 'retry' | 'skip') {
    const q = newQueue();
    const [a, b] = await Promise.all([
      startWorker('A', q.name, { afterCrash, hang: true }),
      startWorker('B', q.name, { afterCrash, autorun: false }),
    ]);
    const added = await q.add('confirm', { id: 'message-1' }, JOB_OPTIONS);
    const effect = await waitFor(
      () => a.events.find((e) => e.event === 'effect') || (a.exited() && fail(a, 'exited')),
      10_000,
      () => `worker A runs the side effect:\n${a.output()}`,
    );
    expect(effect).toMatchObject({ jobId: added.id, effects: 1 });
    expect(await q.getJobState(added.id!)).toBe('active'); // the effect is done, the job is not
    await killProcess(a);
    expect(a.child.signalCode).toBe('SIGKILL');
    b.child.send('run');
    return { q, jobId: added.id!, effectAt: effect.at! };
  }

  /** B's deliveries: in_progress while A's lease ran, then `last` once it was over. */
  function expectLeaseThen(seen: Delivery[], last: Delivery['outcome'], effectAt: number) {
    expect(seen.map((d) => d.worker)).toEqual(seen.map(() => 'B'));
    expect(seen.map((d) => d.outcome)).toEqual([...seen.slice(1).map(() => 'in_progress'), last]);
    expect(seen.length).toBeGreaterThan(1);
    // The lease began when A claimed the message, a moment before its side effect.
    const leaseEnd = effectAt + LEASE_SECONDS * 1000;
    expect(seen[0].at).toBeLessThan(leaseEnd);
    expect(seen.at(-1)!.at).toBeGreaterThan(leaseEnd - 250);
  }

  it("afterCrash 'skip': the job of a worker killed after its side effect is never run twice; it fails as crashed", async () => {
    const { q, jobId, effectAt } = await killAfterEffect('skip');
    const { state, job } = await settled(q, jobId);

    expect(await effects(q, 'message-1')).toBe(1);
    expect(state).toBe('failed');
    expect(job.failedReason).toMatch(/message-1: an earlier run died mid-work; not run again/);
    expect(job.stalledCounter).toBe(1); // B got it through BullMQ's stalled-job check
    // A recorded no delivery: it died inside the work. B met the lease, then the crash.
    const seen = await deliveries(q);
    expectLeaseThen(seen, 'crashed', effectAt);
    // Each in_progress delivery threw, and BullMQ retried it as one more attempt.
    expect(job.attemptsMade).toBe(seen.length);
  });

  it("afterCrash 'retry': BullMQ's redelivery runs the side effect a second time, after the lease", async () => {
    const { q, jobId, effectAt } = await killAfterEffect('retry');
    const { state, job } = await settled(q, jobId);

    expect(state).toBe('completed');
    expect(await effects(q, 'message-1')).toBe(2);
    expect(job.returnvalue).toEqual({ effects: 2, by: 'B' });
    expect(job.stalledCounter).toBe(1);
    const seen = await deliveries(q);
    expectLeaseThen(seen, 'ran', effectAt);
    expect(job.attemptsMade).toBe(seen.length);

    // A later copy of the message gets the recorded result without running anything.
    const copy = await q.add('confirm', { id: 'message-1' }, JOB_OPTIONS);
    expect((await settled(q, copy.id!)).job.returnvalue).toEqual({ effects: 2, by: 'B' });
    expect(await effects(q, 'message-1')).toBe(2);
    expect((await deliveries(q)).at(-1)).toMatchObject({ jobId: copy.id, outcome: 'duplicate' });
  });

  it("work that throws before its effect is BullMQ's to retry: the next attempt runs it", async () => {
    const q = newQueue();
    await startWorker('C', q.name, { afterCrash: 'skip' });
    const added = await q.add('confirm', { id: 'message-3', failAttempts: 1 }, JOB_OPTIONS);
    const { state, job } = await settled(q, added.id!);

    expect(state).toBe('completed');
    expect(job.returnvalue).toEqual({ effects: 1, by: 'C' });
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toBe('mail server down');
    expect(await effects(q, 'message-3')).toBe(1);
    // The failed run's claim was dropped: the retry ran at once, not after the lease as `crashed`.
    expect((await deliveries(q)).map((d) => d.outcome)).toEqual(['threw', 'ran']);
  });

  it('jobId dedups an identical add while the job is kept; runOnce dedups every other copy', async () => {
    const q = newQueue();
    await startWorker('C', q.name, { afterCrash: 'skip' });

    // The same jobId twice: BullMQ keeps one job.
    const first = await q.add('confirm', { id: 'message-2' }, { ...JOB_OPTIONS, jobId: 'order-2' });
    const again = await q.add('confirm', { id: 'message-2' }, { ...JOB_OPTIONS, jobId: 'order-2' });
    expect(again.id).toBe(first.id);
    const { job } = await settled(q, 'order-2');
    expect(job.returnvalue).toEqual({ effects: 1, by: 'C' });

    // A publisher resends the message as another job: BullMQ runs it, runOnce does not.
    const resent = await q.add('confirm', { id: 'message-2' }, JOB_OPTIONS);
    expect(resent.id).not.toBe('order-2');
    expect((await settled(q, resent.id!)).job.returnvalue).toEqual({ effects: 1, by: 'C' });

    // The kept job is gone (removeOnComplete, a clean-up): the same jobId is a new job to BullMQ.
    await job.remove();
    const afterRemoval = await q.add(
      'confirm',
      { id: 'message-2' },
      { ...JOB_OPTIONS, jobId: 'order-2' },
    );
    const third = await settled(q, afterRemoval.id!);
    expect(third.state).toBe('completed');
    expect(third.job.returnvalue).toEqual({ effects: 1, by: 'C' });

    expect(await effects(q, 'message-2')).toBe(1);
    expect((await deliveries(q)).map((d) => [d.jobId, d.outcome])).toEqual([
      ['order-2', 'ran'],
      [resent.id, 'duplicate'],
      ['order-2', 'duplicate'],
    ]);
  });
});
