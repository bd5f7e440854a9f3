import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { CreatePaymentDto } from './dto/create-payment.dto.js';
import { Payment } from './payment.js';

/**
 * The demo's payments: none is kept (no database, and nothing reads them back); the count shows
 * that a retried payment is taken once.
 */
@Injectable()
export class PaymentsService {
  private taken = 0;

  create({ orderId, amountCents }: CreatePaymentDto): Payment {
    const payment = Object.assign(new Payment(), {
      id: randomUUID(),
      orderId,
      amountCents,
      createdAt: new Date().toISOString(),
    });
    this.taken += 1;
    return payment;
  }

  /** How many payments were taken: what the tests count to prove a handler ran once. */
  get count(): number {
    return this.taken;
  }
}
