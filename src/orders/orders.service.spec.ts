import { describe, expect, it } from '@jest/globals';
import { ProblemException } from '@idempotency-tokens/nestjs';
import { OrdersService } from './orders.service.js';

describe('OrdersService', () => {
  it('keeps the newest 10 000 orders and counts every one placed', () => {
    const orders = new OrdersService();
    const placed = Array.from({ length: 10_001 }, () =>
      orders.create({ item: 'book', quantity: 1 }),
    );
    expect(orders.count).toBe(10_001);
    expect(() => orders.cancel(placed[0].id)).toThrow(ProblemException);
    expect(orders.cancel(placed[1].id).cancelledAt).toBeDefined();
    expect(orders.cancel(placed[10_000].id).cancelledAt).toBeDefined();
  });
});
