/**
 * Message consumers on a real RabbitMQ broker (test/support/rabbitmq-harness.ts), one for the
 * whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect, type ChannelModel } from 'amqplib';
import {
  startRabbitMq,
  type BrokerProcess,
  type RabbitMqHandle,
} from './support/rabbitmq-harness.js';

let broker: RabbitMqHandle | undefined;
const connections: ChannelModel[] = [];

async function amqp(): Promise<ChannelModel> {
  const connection = await connect(broker!.url);
  connections.push(connection);
  return connection;
}

beforeAll(async () => {
  broker = await startRabbitMq();
}, 60_000);

afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.close().catch(() => undefined)));
  const stopping = broker;
  broker = undefined;
  await stopping?.stop();
  // No beam.smp, epmd, erl_child_setup … of this broker is left.
  const leftovers: BrokerProcess[] = stopping?.processes() ?? [];
  expect(leftovers).toEqual([]);
});

describe('the RabbitMQ harness', () => {
  it('serves AMQP on a loopback port: a message sent to a queue comes back', async () => {
    expect(broker!.url).toBe(`amqp://127.0.0.1:${broker!.port}`);
    const channel = await (await amqp()).createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    channel.sendToQueue(queue, Buffer.from('hello'));
    const message = await pollFor(
      async () => (await channel.get(queue, { noAck: true })) || undefined,
    );
    expect(message.content.toString()).toBe('hello');
  });

  it('answers rabbitmqctl', async () => {
    const channel = await (await amqp()).createChannel();
    await channel.assertQueue('harness-ctl', { durable: false, autoDelete: false });
    channel.sendToQueue('harness-ctl', Buffer.from('x'));
    await pollFor(async () => (await queueCounts('harness-ctl')).ready === 1 || undefined);
    await channel.deleteQueue('harness-ctl');
  });
});

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

/** Calls `probe` until it returns something other than undefined; fails after `timeoutMs`. */
async function pollFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = 'the condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
