import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ProblemException } from '@idempotency-tokens/nestjs';
import type { CreateOrderDto } from './dto/create-order.dto.js';
import { Order } from './order.js';

/**
 * The newest orders the demo keeps. It has no database: keeping every order would grow the
 * service's memory without end, and a heap of a few hundred thousand orders made every request
 * slower (a replay's CPU went up by two thirds after a benchmark's first uses).
 */
const KEPT_ORDERS = 10_000;

/** The demo's orders, in memory: enough to show that a double submit makes one order. */
@Injectable()
export class OrdersService {
  /** The newest {@link KEPT_ORDERS}, oldest first (a Map keeps insertion order). */
  private readonly orders = new Map<string, Order>();
  private created = 0;

  create({ item, quantity }: CreateOrderDto): Order {
    const order = Object.assign(new Order(), {
      id: randomUUID(),
      item,
      quantity,
      createdAt: new Date().toISOString(),
    });
    this.orders.set(order.id, order);
    this.created += 1;
    if (this.orders.size > KEPT_ORDERS) this.orders.delete(this.orders.keys().next().value!);
    return order;
  }

  cancel(id: string): Order {
    const order = this.orders.get(id);
    if (!order) {
      throw new ProblemException({
        status: 404,
        code: 'ORDER_NOT_FOUND',
        title: 'Order not found',
        detail: `There is no order ${JSON.stringify(id)}.`,
      });
    }
    order.cancelledAt ??= new Date().toISOString();
    return order;
  }

  /** How many orders were placed: what the tests count to prove a handler ran once. */
  get count(): number {
    return this.created;
  }
}
