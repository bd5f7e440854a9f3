import { type BeforeApplicationShutdown, Logger } from '@nestjs/common';
import type { OrderPlaced } from './order-placed.event.js';
import {
  type Delivery,
  type OrderEventHandler,
  OrderEventQueue,
  REQUEUE_DELAY_MS,
} from './order-event-queue.js';

/** A delivery that threw is tried again after 1 s, 2 s, 4 s, 8 s, then dead-lettered. */
const MAX_ATTEMPTS = 5;
const BACKOFF_MS = 1_000;

/**
 * The queue without Redis: events live in this process and die with it, like its in-memory
 * orders. Delivery is asynchronous (never inside `publish`), at least once in spirit (a
 * delivery that throws or asks to be requeued comes back later), so the consumer is written as
 * it must be for a real broker.
 */
export class InProcessOrderEventQueue extends OrderEventQueue implements BeforeApplicationShutdown {
  readonly kind = 'in-process';
  private readonly logger = new Logger('OrderEvents');
  private handler?: OrderEventHandler;
  /** Events published before a consumer was registered. */
  private readonly waiting: OrderPlaced[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  async publish(event: OrderPlaced): Promise<void> {
    if (this.stopped) {
      // Shutting down: an in-process queue cannot outlive its process.
      this.logger.warn(`Order placed event for order ${event.orderId} dropped: shutting down`);
      return;
    }
    if (this.handler) this.schedule(event, 1, 0);
    else this.waiting.push(event);
  }

  consume(handler: OrderEventHandler): void {
    if (this.handler) throw new Error('InProcessOrderEventQueue: one consumer only');
    this.handler = handler;
    for (const event of this.waiting.splice(0)) this.schedule(event, 1, 0);
  }

  /** Stops delivering (requeued and retried events are dropped) and waits for the running ones. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.running);
  }

  private schedule(event: OrderPlaced, attempt: number, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run = this.deliver(event, attempt).finally(() => this.running.delete(run));
      this.running.add(run);
    }, delayMs);
    this.timers.add(timer);
  }

  private async deliver(event: OrderPlaced, attempt: number): Promise<void> {
    let delivery: Delivery;
    try {
      delivery = await this.handler!(event);
    } catch (error) {
      if (attempt < MAX_ATTEMPTS) {
        const delayMs = BACKOFF_MS * 2 ** (attempt - 1);
        this.logger.warn(
          `Order placed event for order ${event.orderId} failed (${(error as Error).message}); attempt ${attempt + 1} in ${delayMs} ms`,
        );
        return this.schedule(event, attempt + 1, delayMs);
      }
      delivery = 'dead_letter';
    }
    if (delivery === 'requeue') this.schedule(event, attempt, REQUEUE_DELAY_MS);
    else if (delivery === 'dead_letter')
      this.logger.error(`Order placed event for order ${event.orderId} dead-lettered`);
  }
}
