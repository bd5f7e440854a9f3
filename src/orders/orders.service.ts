import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ProblemException } from '@idempotency-tokens/nestjs';
import type { CreateOrderDto } from './dto/create-order.dto.js';
import { Order } from './order.js';

/** The demo's orders, in memory: enough to show that a double submit makes one order. */
@Injectable()
export class OrdersService {
  private readonly orders = new Map<string, Order>();

  create({ item, quantity }: CreateOrderDto): Order {
    const order = Object.assign(new Order(), {
      id: randomUUID(),
      item,
      quantity,
      createdAt: new Date().toISOString(),
    });
    this.orders.set(order.id, order);
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

  /** How many orders exist: what the tests count to prove a handler ran once. */
  get count(): number {
    return this.orders.size;
  }
}
