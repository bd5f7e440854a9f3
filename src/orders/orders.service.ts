import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { FifoMap } from 'toad-cache';
import { ProblemException } from '@idempotency-tokens/nestjs';
import type { CreateOrderDto } from './dto/create-order.dto.js';
import { OrderEventQueue } from './events/order-event-queue.js';
import { Order } from './order.js';

/**
 * The newest orders the demo keeps. It has no database: keeping every order would grow the
 * service's memory without end, and a heap of a few hundred thousand orders made every request
 * slower (a replay's CPU went up by two thirds after a benchmark's first uses). Kept in a FIFO
 * cache (toad-cache, Fastify's own) that drops its oldest entry in constant time.
 */
const KEPT_ORDERS = 10_000;

const notFound = (id: string) =>
  new ProblemException({
    status: 404,
    code: 'ORDER_NOT_FOUND',
    title: 'Order not found',
    detail: `There is no order ${JSON.stringify(id)}.`,
  });

/**
 * A copy of the order as it is now: the kept order changes later (a confirmation, a cancel),
 * and an answer must show it as it was when answered, not as it is when serialised.
 */
const snapshot = (order: Order): Order => Object.assign(new Order(), order);

/**
 * The demo's orders, in memory: enough to show that a double submit makes one order. Placing
 * one publishes an "order placed" event, whose consumer sends its confirmation once.
 */
@Injectable()
export class OrdersService {
  private readonly logger = new Logger('Orders');
  private readonly orders = new FifoMap<Order>(KEPT_ORDERS);
  private created = 0;

  constructor(private readonly events: OrderEventQueue) {}

  /**
   * `id`: the request's downstream key (`@IdempotencyKey()`), so that one token can only ever
   * make one order: like a unique column, a second create with the same id returns the order
   * that has it (it cannot happen through the guarded route; it is the second layer).
   */
  create({ item, quantity }: CreateOrderDto, id: string = randomUUID()): Order {
    const existing = this.orders.get(id);
    if (existing) return snapshot(existing);
    const order = Object.assign(new Order(), {
      id,
      item,
      quantity,
      createdAt: new Date().toISOString(),
      confirmationsSent: 0,
    });
    this.orders.set(order.id, order);
    this.created += 1;
    this.publishPlaced(order);
    return snapshot(order);
  }

  /** The order, or 404 ORDER_NOT_FOUND. */
  get(id: string): Order {
    const order = this.orders.get(id);
    if (!order) throw notFound(id);
    return snapshot(order);
  }

  cancel(id: string): Order {
    const order = this.orders.get(id);
    if (!order) throw notFound(id);
    order.cancelledAt ??= new Date().toISOString();
    return snapshot(order);
  }

  /** Counts a confirmation sent for the order; `undefined` when the order is not kept here. */
  confirmationSent(id: string): Order | undefined {
    const order = this.orders.get(id);
    if (order) order.confirmationsSent += 1;
    return order && snapshot(order);
  }

  /** How many orders were placed: what the tests count to prove a handler ran once. */
  get count(): number {
    return this.created;
  }

  /**
   * The answer does not wait for the queue: the order is placed whatever becomes of its event,
   * and a queue that is slow or down must not change the answer that is recorded and replayed.
   * An event that cannot be queued is logged (a real shop would write it to an outbox with the
   * order, in one transaction).
   */
  private publishPlaced(order: Order): void {
    const { id: orderId, item, quantity, createdAt: placedAt } = order;
    this.events.publish({ orderId, item, quantity, placedAt }).catch((error: Error) => {
      this.logger.error(
        `Order placed event for order ${orderId} not queued (${error.message}): no confirmation will be sent`,
      );
    });
  }
}
