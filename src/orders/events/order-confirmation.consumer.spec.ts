import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, type LoggerService } from '@nestjs/common';
import { IdempotencyMetrics, MemoryTokenStore, runOnce } from '@idempotency-tokens/nestjs';
import { loadConfig } from '../../config/app-config.js';
import { OrdersService } from '../orders.service.js';
import { InProcessOrderEventQueue } from './in-process-order-event.queue.js';
import { CONFIRMATION_SCOPE, OrderConfirmationConsumer } from './order-confirmation.consumer.js';
import type { OrderPlaced } from './order-placed.event.js';
import { OrderEventQueue, REQUEUE_DELAY_MS } from './order-event-queue.js';

/** Publishes nothing: the tests deliver by hand. */
class SilentQueue extends OrderEventQueue {
  readonly kind = 'silent';
  async publish(): Promise<void> {}
  consume(): void {}
}

const lines: string[] = [];
const capture = (message: unknown) => void lines.push(String(message));
const logger: LoggerService = { log: capture, warn: capture, error: capture };

const config = loadConfig({ LOG_LEVEL: 'silent' }); // lease 60 s, kept a day

async function setUp(queue: OrderEventQueue = new SilentQueue(), now?: () => number) {
  const store = new MemoryTokenStore(now);
  const metrics = await IdempotencyMetrics.create();
  const orders = new OrdersService(queue);
  const consumer = new OrderConfirmationConsumer(queue, orders, store, metrics, config);
  const order = orders.create({ item: 'book', quantity: 2 });
  const event: OrderPlaced = {
    orderId: order.id,
    item: order.item,
    quantity: order.quantity,
    placedAt: order.createdAt,
  };
  const sent = () => orders.get(order.id).confirmationsSent;
  const counted = async (outcome: string) => {
    const text = await metrics.registry!.metrics();
    const line = new RegExp(`^idempotency_messages_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm');
    return Number(line.exec(text)?.[1] ?? 0);
  };
  return { store, consumer, orders, order, event, sent, counted };
}

describe('OrderConfirmationConsumer', () => {
  beforeAll(() => Logger.overrideLogger(logger));
  afterAll(() => Logger.overrideLogger(false));

  it('sends the confirmation once for an event delivered twice, and acks both', async () => {
    const { consumer, event, sent, counted } = await setUp();
    lines.length = 0;
    expect(await consumer.handle(event)).toBe('ack');
    expect(await consumer.handle(event)).toBe('ack');
    expect(sent()).toBe(1);
    expect(await counted('ran')).toBe(1);
    expect(await counted('duplicate')).toBe(1);
    expect(lines.filter((line) => line.startsWith('Confirmation sent'))).toEqual([
      `Confirmation sent for order ${event.orderId}`,
    ]);
  });

  it('requeues a delivery that meets another one still running (in_progress)', async () => {
    const { consumer, event, sent, counted } = await setUp();
    // Both claim before either records: the second finds the first's lease.
    const both = await Promise.all([consumer.handle(event), consumer.handle(event)]);
    expect(both).toEqual(['ack', 'requeue']);
    expect(await counted('in_progress')).toBe(1);
    expect(await consumer.handle(event)).toBe('ack'); // the requeued one, later: a duplicate
    expect(sent()).toBe(1);
  });

  it('dead-letters, and does not send, when an earlier run died mid-way (crashed)', async () => {
    let now = 1_000_000;
    const { store, consumer, event, sent, counted } = await setUp(undefined, () => now);
    // A worker took the event and died before recording anything.
    void runOnce(event.orderId, () => new Promise<never>(() => undefined), {
      store,
      scope: CONFIRMATION_SCOPE,
      leaseSeconds: config.inProgressTtlSeconds,
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await consumer.handle(event)).toBe('requeue'); // its lease still runs
    now += config.inProgressTtlSeconds * 1000 + 1; // the lease is over, nothing was recorded
    lines.length = 0;
    expect(await consumer.handle(event)).toBe('dead_letter');
    expect(sent()).toBe(0);
    expect(await counted('crashed')).toBe(1);
    expect(lines).toEqual([
      expect.stringContaining(`Confirmation of order ${event.orderId} not sent`),
    ]);
  });

  it('lets the queue retry when the store fails (nothing sent, nothing recorded)', async () => {
    const { store, consumer, event, sent } = await setUp();
    const claim = store.claim.bind(store);
    store.claim = () => Promise.reject(new Error('Redis gone'));
    await expect(consumer.handle(event)).rejects.toThrow('Redis gone');
    store.claim = claim;
    expect(await consumer.handle(event)).toBe('ack');
    expect(sent()).toBe(1);
  });
});

describe('InProcessOrderEventQueue with the consumer', () => {
  beforeAll(() => Logger.overrideLogger(logger));
  afterAll(() => {
    Logger.overrideLogger(false);
    jest.useRealTimers();
  });

  it('delivers asynchronously, redelivers requeued events later, and stops at shutdown', async () => {
    jest.useFakeTimers();
    const queue = new InProcessOrderEventQueue();
    const { consumer, event, sent } = await setUp(queue);
    const seen: string[] = [];
    queue.consume(async (delivered) => {
      const delivery = await consumer.handle(delivered);
      seen.push(delivery);
      // The first delivery asks to be seen again once: a requeue.
      return seen.length === 1 ? 'requeue' : delivery;
    });
    // Placing the order published the event before there was a consumer: it waited.
    expect(seen).toEqual([]);
    await jest.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['ack']);
    await queue.publish(event); // the same event again
    expect(seen).toEqual(['ack']); // never inside publish
    await jest.advanceTimersByTimeAsync(0);
    expect(seen).toEqual(['ack', 'ack']);
    await jest.advanceTimersByTimeAsync(REQUEUE_DELAY_MS);
    expect(seen).toEqual(['ack', 'ack', 'ack']); // the requeued first one, a duplicate
    expect(sent()).toBe(1);

    await queue.beforeApplicationShutdown();
    await queue.publish(event);
    await jest.advanceTimersByTimeAsync(REQUEUE_DELAY_MS);
    expect(seen).toHaveLength(3);
  });

  it('retries a delivery that threw, with a backoff', async () => {
    jest.useFakeTimers();
    const queue = new InProcessOrderEventQueue();
    let calls = 0;
    queue.consume(async () => {
      calls += 1;
      if (calls < 3) throw new Error('store down');
      return 'ack';
    });
    await queue.publish({ orderId: 'o', item: 'a', quantity: 1, placedAt: '' });
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(2);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(calls).toBe(3);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(3);
  });
});
