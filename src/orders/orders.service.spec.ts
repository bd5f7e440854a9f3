import { describe, expect, it } from '@jest/globals';
import { ProblemException } from '@idempotency-tokens/nestjs';
import type { OrderPlaced } from './events/order-placed.event.js';
import { OrderEventQueue } from './events/order-event-queue.js';
import { OrdersService } from './orders.service.js';

/** Keeps what is published; delivers nothing. */
class RecordingQueue extends OrderEventQueue {
  readonly kind = 'recording';
  readonly published: OrderPlaced[] = [];
  async publish(event: OrderPlaced): Promise<void> {
    this.published.push(event);
  }
  consume(): void {}
}

describe('OrdersService', () => {
  it('keeps the newest 10 000 orders and counts every one placed', () => {
    const orders = new OrdersService(new RecordingQueue());
    const place = (count: number) =>
      Array.from({ length: count }, () => orders.create({ item: 'book', quantity: 1 }));
    const placed = place(10_001);
    expect(orders.count).toBe(10_001);
    expect(() => orders.cancel(placed[0].id)).toThrow(ProblemException);
    expect(() => orders.get(placed[0].id)).toThrow(ProblemException);
    expect(orders.cancel(placed[1].id).cancelledAt).toBeDefined();
    expect(orders.cancel(placed[10_000].id).cancelledAt).toBeDefined();
    // Round the ring again: still the newest 10 000.
    const later = place(10_000);
    expect(() => orders.get(placed[10_000].id)).toThrow(ProblemException);
    expect(orders.get(later[0].id).id).toBe(later[0].id);
    expect(orders.get(later[9_999].id).id).toBe(later[9_999].id);
  });

  it('makes one order per id, as a unique column would: a second create returns the first', () => {
    const queue = new RecordingQueue();
    const orders = new OrdersService(queue);
    const id = '0f1e2d3c-4b5a-8968-8776-655443322110';
    const first = orders.create({ item: 'book', quantity: 2 }, id);
    const second = orders.create({ item: 'pen', quantity: 9 }, id);
    expect(second).toEqual(first);
    expect([orders.count, queue.published.length]).toEqual([1, 1]);
  });

  it('publishes one order placed event per order, keyed by the order id', () => {
    const queue = new RecordingQueue();
    const order = new OrdersService(queue).create({ item: 'book', quantity: 2 });
    expect(queue.published).toEqual([
      { orderId: order.id, item: 'book', quantity: 2, placedAt: order.createdAt },
    ]);
  });

  it('counts confirmations on the kept order; answers show the order as it was', () => {
    const orders = new OrdersService(new RecordingQueue());
    const placed = orders.create({ item: 'book', quantity: 2 });
    expect(placed.confirmationsSent).toBe(0);
    expect(orders.confirmationSent(placed.id)?.confirmationsSent).toBe(1);
    expect(placed.confirmationsSent).toBe(0); // the answer already given does not change
    expect(orders.get(placed.id)).toEqual({ ...placed, confirmationsSent: 1 });
    expect(orders.confirmationSent('not-kept-here')).toBeUndefined();
  });
});
