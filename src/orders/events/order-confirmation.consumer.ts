import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import {
  IdempotencyMetrics,
  InjectTokenStore,
  runOnce,
  type TokenStore,
} from '@idempotency-tokens/nestjs';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { OrdersService } from '../orders.service.js';
import type { OrderPlaced } from './order-placed.event.js';
import { type Delivery, OrderEventQueue } from './order-event-queue.js';

/** Keeps this consumer's keys apart from any other consumer of the same events. */
export const CONFIRMATION_SCOPE = 'orders.confirmation';

/**
 * "Sends the confirmation" of each order placed, once, however often the queue delivers the
 * event: the work runs under `runOnce`, keyed by the event's own id (the order's), in the
 * module's token store (memory, or Redis shared by every instance), counted in
 * `idempotency_messages_total{outcome}`. Sending is the demo's stand-in for an e-mail: the
 * order's `confirmationsSent` goes up by one and a log line says so.
 *
 * What each outcome does with the delivery:
 * - `ran`, `duplicate`: ack (sent now, or sent before: nothing more to do);
 * - `in_progress`: another delivery is sending it right now: requeue, to be seen again in a
 *   second (by then a duplicate, or, if that run's worker died, past its lease);
 * - `crashed`: an earlier run took the key and died before recording that it had sent (lease
 *   over, nothing recorded). It may or may not have sent: the demo promises never to confirm
 *   twice (`afterCrash: 'skip'`), so it is not sent again but logged and dead-lettered for
 *   someone to check. ('retry' would send again: at least once, for work safe to repeat.)
 * A store that fails (Redis down) throws: the queue retries the delivery with a backoff.
 */
@Injectable()
export class OrderConfirmationConsumer implements OnModuleInit {
  private readonly logger = new Logger('OrderConfirmation');

  constructor(
    private readonly queue: OrderEventQueue,
    private readonly orders: OrdersService,
    @InjectTokenStore() private readonly store: TokenStore,
    private readonly metrics: IdempotencyMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.queue.consume((event) => this.handle(event));
    this.logger.log(
      this.queue.kind === 'off'
        ? 'Order placed events are off (ORDER_EVENTS_QUEUE=off): no confirmations are sent'
        : `Consuming order placed events from the ${this.queue.kind} queue`,
    );
  }

  async handle(event: OrderPlaced): Promise<Delivery> {
    const done = await runOnce(event.orderId, () => this.sendConfirmation(event), {
      store: this.store,
      scope: CONFIRMATION_SCOPE,
      afterCrash: 'skip',
      // A run counts as in progress, and a result is remembered, as long as an HTTP request's.
      leaseSeconds: this.config.inProgressTtlSeconds,
      keepSeconds: this.config.resultTtlSeconds,
      metrics: this.metrics,
    });
    switch (done.outcome) {
      case 'ran':
      case 'duplicate':
        return 'ack';
      case 'in_progress':
        return 'requeue';
      case 'crashed':
        this.logger.warn(
          `Confirmation of order ${event.orderId} not sent: an earlier run died before recording whether it had sent it; check by hand`,
        );
        return 'dead_letter';
    }
  }

  private sendConfirmation(event: OrderPlaced): void {
    const order = this.orders.confirmationSent(event.orderId);
    // The event carries no token, and neither does this line.
    if (order) this.logger.log(`Confirmation sent for order ${event.orderId}`);
    else
      this.logger.log(
        `Confirmation sent for order ${event.orderId} (placed on another instance, or no longer kept here: not counted)`,
      );
  }
}
