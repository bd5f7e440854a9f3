import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { CreatePaymentDto } from './dto/create-payment.dto.js';
import { Payment } from './payment.js';

/** The newest payments the demo keeps: it has no database (see OrdersService). */
const KEPT_PAYMENTS = 10_000;

/** The demo's payments, in memory: enough to show that a retried payment is taken once. */
@Injectable()
export class PaymentsService {
  private readonly payments = new Map<string, Payment>();
  private taken = 0;

  create({ orderId, amountCents }: CreatePaymentDto): Payment {
    const payment = Object.assign(new Payment(), {
      id: randomUUID(),
      orderId,
      amountCents,
      createdAt: new Date().toISOString(),
    });
    this.payments.set(payment.id, payment);
    this.taken += 1;
    if (this.payments.size > KEPT_PAYMENTS)
      this.payments.delete(this.payments.keys().next().value!);
    return payment;
  }

  /** How many payments were taken: what the tests count to prove a handler ran once. */
  get count(): number {
    return this.taken;
  }
}
