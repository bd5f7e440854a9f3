/**
 * @Idempotent({ key }) on Nest RabbitMQ consumers, on a real broker (one for the whole file,
 * test/support/rabbitmq-harness.ts) and a real redis-server, with each consumer in its own process
 * (test/fixtures/rmq-consumer.mjs: Nest's RMQ transport with manual acks, prefetch 1): a consumer
 * SIGKILLed after its side effect and before its ack, whose message RabbitMQ redelivers to a second
 * consumer; two consumers racing on copies of one message; a request (@MessagePattern) sent again.
 * The side effect is counted in Redis, outside the consumers.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import {
  type EventProcess,
  killProcess,
  spawnEventProcess,
  waitFor,
} from './support/event-process.js';
import { startRabbitMq, type RabbitMqHandle } from './support/rabbitmq-harness.js';
import { startRedis, type RedisServerHandle } from './support/redis-harness.js';

const CONSUMER_SCRIPT = new URL('./fixtures/rmq-consumer.mjs', import.meta.url).pathname;
/** How long a run counts as in progress: a killed consumer's message is taken for crashed after it. */
const LEASE_SECONDS = 3;
/** How long the racing consumers' handlers take. */
const WORK_MS = 800;
/** How long the module holds a copy of a run in progress before it nacks it back to the queue. */
const REQUEUE_DELAY_MS = 1_000;
/** What a consumer says when a channel breaks, e.g. after acking a delivery twice. */
const CHANNEL_TROUBLE =
  /PRECONDITION_FAILED|unknown delivery tag|channel (closed|ended)|Disconnected from RMQ/i;

interface ConsumerEvent {
  event: 'made' | 'ready' | 'effect';
  consumer: string;
  id?: string;
  effects?: number;
}

/** A delivery as the consumer saw it, before @Idempotent(). */
interface Delivery {
  consumer: string;
  pattern: string;
  id: string;
  redelivered: boolean;
  at: number;
}

type ConsumerProcess = EventProcess<ConsumerEvent>;

interface ConsumerOptions {
  afterCrash?: 'retry' | 'skip';
  die?: boolean;
  workMs?: number;
  /** Made, but consuming only after listen(): up before it may take a message. */
  hold?: boolean;
}

/** Nest's RMQ reply to a request: `response`, or `err` for an exception. */
interface Reply {
  id: string;
  response?: { id: string; effects: number; by: string };
  err?: { status: string; code: string; message: string };
  isDisposed?: boolean;
}

let broker: RabbitMqHandle | undefined;
let redisServer: RedisServerHandle | undefined;
let redis: Redis | undefined;
let connection: ChannelModel | undefined;
let channel: Channel;
const consumers: ConsumerProcess[] = [];

beforeAll(async () => {
  // allSettled: whichever started must still be stopped in afterAll when the other failed.
  const [rabbit, redisStarted] = await Promise.allSettled([startRabbitMq(), startRedis()]);
  if (rabbit.status === 'fulfilled') broker = rabbit.value;
  if (redisStarted.status === 'fulfilled') redisServer = redisStarted.value;
  if (rabbit.status === 'rejected') throw rabbit.reason;
  if (redisStarted.status === 'rejected') throw redisStarted.reason;
  redis = new Redis({ host: '127.0.0.1', port: redisServer!.port, lazyConnect: true });
  await redis.connect();
  connection = await connect(broker!.url);
  channel = await connection.createChannel();
}, 60_000);

afterAll(async () => {
  await Promise.all(consumers.splice(0).map(killProcess));
  await connection?.close().catch(() => undefined);
  await redis?.quit().catch(() => redis?.disconnect());
  await redisServer?.stop();
  const stopping = broker;
  broker = undefined;
  await stopping?.stop();
  // No beam.smp, epmd, erl_child_setup … of the broker is left.
  expect(stopping?.processes() ?? []).toEqual([]);
});

/** A consumer process; resolves once its Nest microservice consumes from `queue` (with `hold`: once it is made). */
async function startConsumer(
  name: string,
  queue: string,
  options: ConsumerOptions,
): Promise<ConsumerProcess> {
  const config = {
    name,
    url: broker!.url,
    redisPort: redisServer!.port,
    queue,
    queueOptions: queueOptions(queue),
    scope: 'confirmations',
    leaseSeconds: LEASE_SECONDS,
    ...options,
  };
  const started = spawnEventProcess<ConsumerEvent>(name, CONSUMER_SCRIPT, 'RMQ_CONSUMER', config);
  consumers.push(started);
  await says(started, options.hold ? 'made' : 'ready');
  return started;
}

/**
 * Waits until the broker counts `count` consumers on `queue`: Nest's RMQ server reports that it
 * listens before the broker has confirmed its consumer.
 */
async function consuming(queue: string, count: number): Promise<void> {
  let last = -1;
  await waitFor(
    async () => (last = (await channel.checkQueue(queue)).consumerCount) === count,
    5_000,
    () => `${count} consumers on ${queue} (last: ${last})`,
  );
}

/** A consumer started with `hold` begins to consume. */
async function listen(consumer: ConsumerProcess): Promise<void> {
  consumer.child.send('listen');
  await says(consumer, 'ready');
}

function says(consumer: ConsumerProcess, event: ConsumerEvent['event']): Promise<ConsumerEvent> {
  return waitFor(
    () =>
      consumer.events.find((e) => e.event === event) ||
      (consumer.exited() && fail(consumer, 'exited')),
    15_000,
    () => `consumer ${consumer.name} says ${event}:\n${consumer.output()}`,
  );
}

function fail(consumer: ConsumerProcess, what: string): never {
  throw new Error(`consumer ${consumer.name} ${what}:\n${consumer.output()}`);
}

/** SIGKILL by pid: no goodbye to the broker, which gives back what the consumer had not acked. */

/**
 * Still running, and no channel broke: settling a delivery twice (ack after ack, nack after ack)
 * makes the broker close the channel with "unknown delivery tag", which its log records.
 */
function expectHealthy(consumer: ConsumerProcess): void {
  expect({ name: consumer.name, exited: consumer.exited() }).toEqual({
    name: consumer.name,
    exited: false,
  });
  expect(consumer.output()).not.toMatch(CHANNEL_TROUBLE);
  expect(channelExceptions()).toEqual([]);
}

/** Where the broker's log stood when the current test began. */
let logOffset = 0;
beforeEach(() => {
  logOffset = broker?.log().length ?? 0;
});

/** The broker's log lines about channel exceptions since the current test began. */
function channelExceptions(): string[] {
  const lines = broker!.log().slice(logOffset).split('\n');
  return lines.filter((line) => /channel exception/i.test(line));
}

/** The queue's settings, the same in the test and the consumers: rejected deliveries go to `<queue>.dlx`. */
function queueOptions(queue: string) {
  return { durable: false, arguments: { 'x-dead-letter-exchange': `${queue}.dlx` } };
}

/** A fresh queue with its dead-letter exchange and a queue `<queue>.dead` that collects them. */
async function newQueue(label: string): Promise<string> {
  const queue = `${label}-${randomUUID().slice(0, 8)}`;
  await channel.assertExchange(`${queue}.dlx`, 'fanout', { durable: false });
  await channel.assertQueue(`${queue}.dead`, { durable: false });
  await channel.bindQueue(`${queue}.dead`, `${queue}.dlx`, '');
  await channel.assertQueue(queue, queueOptions(queue));
  return queue;
}

/** Publishes as Nest's RMQ client does: `{ pattern, data }`, and `id` for a request. */
function publish(
  queue: string,
  pattern: string,
  data: object,
  request?: Partial<Reply> & { replyTo: string },
) {
  const packet = request ? { pattern, data, id: request.id } : { pattern, data };
  channel.sendToQueue(queue, Buffer.from(JSON.stringify(packet)), {
    ...(request && { replyTo: request.replyTo, correlationId: request.id }),
  });
}

/** The time between one delivery and the next, in ms. */
function gaps(seen: Delivery[]): number[] {
  return seen.slice(1).map((d, i) => d.at - seen[i].at);
}

async function effects(queue: string, id: string): Promise<number> {
  return Number(await redis!.get(`${queue}:effects:${id}`));
}

async function deliveries(queue: string): Promise<Delivery[]> {
  return (await redis!.lrange(`${queue}:deliveries`, 0, -1)).map((line) => JSON.parse(line));
}

/** messages_ready and messages_unacknowledged of a queue, as the broker counts them. */
async function queueCounts(queue: string): Promise<{ ready: number; unacked: number }> {
  const out = await broker!.ctl([
    'list_queues',
    '--quiet',
    '--no-table-headers',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  ]);
  for (const line of out.split('\n')) {
    const [name, ready, unacked] = line.trim().split(/\s+/);
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked) };
  }
  throw new Error(`rabbitmqctl list_queues does not list ${queue}:\n${out}`);
}

/** Waits until every delivery of `queue` is settled: nothing ready, nothing unacked. */
async function drained(queue: string, timeoutMs = 15_000): Promise<void> {
  let last = { ready: -1, unacked: -1 };
  try {
    await waitFor(
      async () => {
        last = await queueCounts(queue);
        return last.ready === 0 && last.unacked === 0;
      },
      timeoutMs,
      () => `queue ${queue} empty with nothing unacked (last: ${JSON.stringify(last)})`,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await story(queue)}`, { cause: error });
  }
}

/** For failure messages: what each consumer saw and said. */
async function story(queue: string): Promise<string> {
  const seen = (await deliveries(queue)).map((d) => JSON.stringify(d)).join('\n');
  const said = consumers.map((c) => `--- consumer ${c.name}:\n${c.output()}`).join('\n');
  return `--- deliveries:\n${seen}\n${said}`;
}

describe('the RabbitMQ harness', () => {
  it('serves AMQP on a loopback port and answers rabbitmqctl', async () => {
    expect(broker!.url).toBe(`amqp://127.0.0.1:${broker!.port}`);
    const { queue } = await channel.assertQueue('', { exclusive: true });
    channel.sendToQueue(queue, Buffer.from('hello'));
    const message = await waitFor(
      () => channel.get(queue, { noAck: false }),
      5_000,
      () => 'the message back',
    );
    expect(message.content.toString()).toBe('hello');
    expect(await queueCounts(queue)).toEqual({ ready: 0, unacked: 1 });
    channel.ack(message);
    await channel.deleteQueue(queue);
  });

  it('logs a channel exception for a delivery settled twice (what expectHealthy() looks for)', async () => {
    const other = await connection!.createChannel();
    const closed = new Promise<Error>((resolve) => other.once('error', resolve));
    const { queue } = await other.assertQueue('', { exclusive: true });
    other.sendToQueue(queue, Buffer.from('twice'));
    const message = await waitFor(
      () => other.get(queue),
      5_000,
      () => 'the message back',
    );
    other.ack(message);
    other.ack(message);
    expect((await closed).message).toMatch(/unknown delivery tag/);
    await waitFor(
      () => channelExceptions().length > 0,
      5_000,
      () => 'a channel exception logged',
    );
    expect(channelExceptions().join('\n')).toMatch(/basic\.ack caused a channel exception/);
  });
});

describe('@Idempotent({ key, noAck: false }): a consumer killed after its effect, before its ack', () => {
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map(killProcess));
  });

  /**
   * Consumer A takes the message, does its side effect and is SIGKILLed before its ack; consumer
   * B (consuming once A holds the message) gets RabbitMQ's redelivery. B's deliveries meet A's
   * lease (in progress: nacked back to the queue after 1 s) until it runs out, then the afterCrash
   * rule.
   */
  async function killAfterEffect(afterCrash: 'retry' | 'skip') {
    const queue = await newQueue(`crash-${afterCrash}`);
    const [a, b] = await Promise.all([
      startConsumer('A', queue, { afterCrash, die: true }),
      startConsumer('B', queue, { afterCrash, hold: true }),
    ]);
    publish(queue, 'order.placed', { id: 'order-1' });
    expect(await says(a, 'effect')).toMatchObject({ id: 'order-1', effects: 1 });
    await listen(b);
    await consuming(queue, 2);
    expect((await channel.checkQueue(queue)).messageCount).toBe(0); // A still holds it
    await killProcess(a);
    return { queue, b };
  }

  it("afterCrash 'skip': the effect happened once; the redelivery is dead-lettered, not run, not left in the queue", async () => {
    const { queue, b } = await killAfterEffect('skip');

    const dead = await waitFor(
      async () => (await channel.get(`${queue}.dead`, { noAck: true })) || undefined,
      15_000,
      () => `a message in ${queue}.dead:\n${b.output()}`,
    );
    expect(JSON.parse(dead.content.toString())).toEqual({
      pattern: 'order.placed',
      data: { id: 'order-1' },
    });
    expect(dead.properties.headers?.['x-death']?.[0]).toMatchObject({ queue, reason: 'rejected' });
    await drained(queue);
    expect(await effects(queue, 'order-1')).toBe(1);
    // B did get RabbitMQ's redelivery of A's message (and did not run it); while A's lease ran,
    // each delivery went back to the queue a second later, not at once (no spinning).
    const atB = (await deliveries(queue)).filter((d) => d.consumer === 'B');
    expect(atB.length).toBeGreaterThanOrEqual(1);
    expect(atB.every((d) => d.redelivered)).toBe(true);
    expect(gaps(atB).every((gap) => gap >= REQUEUE_DELAY_MS - 100)).toBe(true);
    expectHealthy(b);
  });

  it("afterCrash 'retry': the redelivery runs again, so the effect happened twice (the setting is real)", async () => {
    const { queue, b } = await killAfterEffect('retry');

    await waitFor(
      async () => (await effects(queue, 'order-1')) === 2,
      15_000,
      () => `a second effect:\n${b.output()}`,
    );
    await drained(queue);
    expect(await effects(queue, 'order-1')).toBe(2);
    expect((await channel.checkQueue(`${queue}.dead`)).messageCount).toBe(0);
    expect((await deliveries(queue)).some((d) => d.consumer === 'B' && d.redelivered)).toBe(true);
    expectHealthy(b);
  });
});

/**
 * C1 and C2 consume one queue; their handlers take WORK_MS, so that copies delivered together
 * overlap (with room for a slow machine: the second copy must be looked at before the first ends).
 */
describe('@Idempotent({ key, noAck: false }): two consumers on one queue', () => {
  let queue: string;
  let c1: ConsumerProcess;
  let c2: ConsumerProcess;

  beforeAll(async () => {
    queue = await newQueue('shared');
    [c1, c2] = await Promise.all([
      startConsumer('C1', queue, { workMs: WORK_MS }),
      startConsumer('C2', queue, { workMs: WORK_MS }),
    ]);
    await consuming(queue, 2);
  }, 30_000);

  afterAll(async () => {
    await Promise.all(consumers.splice(0).map(killProcess));
  });

  it('racing on three copies of one message: the effect happened once, every copy acked', async () => {
    for (let copy = 0; copy < 3; copy++) publish(queue, 'order.placed', { id: 'order-race' });

    await waitFor(
      async () => (await deliveries(queue)).filter((d) => d.id === 'order-race').length >= 3,
      10_000,
      () => `three deliveries:\n${c1.output()}\n${c2.output()}`,
    );
    await drained(queue);
    expect(await effects(queue, 'order-race')).toBe(1);
    expect((await channel.checkQueue(`${queue}.dead`)).messageCount).toBe(0); // none rejected
    const seen = (await deliveries(queue)).filter((d) => d.id === 'order-race');
    // Both consumers had a copy at once (prefetch 1 each), and the copy that met the run in
    // progress came back from the queue (nacked with requeue a second later), then was acked as
    // a duplicate.
    expect(new Set(seen.map((d) => d.consumer))).toEqual(new Set(['C1', 'C2']));
    const back = seen.filter((d) => d.redelivered);
    expect(back.length).toBeGreaterThanOrEqual(1);
    expect(back.length).toBeLessThanOrEqual(2);
    expect(back[0].at - seen[0].at).toBeGreaterThanOrEqual(REQUEUE_DELAY_MS - 100);
    expectHealthy(c1);
    expectHealthy(c2);
  });

  it('a request (@MessagePattern): a copy gets the first reply; a copy during the run is told it is in progress', async () => {
    const { queue: replyTo } = await channel.assertQueue('', { exclusive: true });
    const replies = new Map<string, Reply>();
    await channel.consume(
      replyTo,
      (message: ConsumeMessage | null) => {
        if (message)
          replies.set(message.properties.correlationId, JSON.parse(message.content.toString()));
      },
      { noAck: true },
    );
    const reply = (id: string) =>
      waitFor(
        () => replies.get(id),
        10_000,
        () => `reply ${id}:\n${c1.output()}\n${c2.output()}`,
      );

    // Two copies at once: one consumer each (prefetch 1), one runs, the other meets its run.
    publish(queue, 'order.quote', { id: 'quote-1' }, { id: 'r1', replyTo });
    publish(queue, 'order.quote', { id: 'quote-1' }, { id: 'r2', replyTo });
    const [first, second] = await Promise.all([reply('r1'), reply('r2')]);
    const ran = [first, second].find((r) => r.response)!;
    const refused = [first, second].find((r) => r !== ran)!;
    expect(ran.response).toEqual({
      id: 'quote-1',
      effects: 1,
      by: expect.stringMatching(/^C[12]$/),
    });
    expect(refused.err).toMatchObject({ code: 'MESSAGE_IN_PROGRESS' });

    // A copy after the run: the first reply again, not a second run.
    publish(queue, 'order.quote', { id: 'quote-1' }, { id: 'r3', replyTo });
    expect((await reply('r3')).response).toEqual(ran.response);
    await drained(queue);
    expect(await effects(queue, 'quote-1')).toBe(1);
    expectHealthy(c1);
    expectHealthy(c2);
  });
});
