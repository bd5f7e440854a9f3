import type { OrderPlaced } from './order-placed.event.js';

/**
 * What a consumer made of one delivery:
 * - `ack`: handled (or found handled before): the queue forgets it;
 * - `requeue`: not now (another delivery is running it): deliver it again a little later, without
 *   counting it as a failed attempt;
 * - `dead_letter`: never again: the queue sets it aside (BullMQ's failed set; a log line in process).
 * A handler that throws is retried with a backoff, a few times, then dead-lettered.
 */
export type Delivery = 'ack' | 'requeue' | 'dead_letter';

/**
 * A delivery the consumer left for later (`requeue`) comes back after this long: by then the
 * run it met has usually finished (and this one is a duplicate), or its lease is nearer its end.
 */
export const REQUEUE_DELAY_MS = 1_000;

export type OrderEventHandler = (event: OrderPlaced) => Promise<Delivery>;

/**
 * Where "order placed" events go: in process without Redis, BullMQ on the service's Redis with
 * it (see order-event-queue.factory.ts). An abstract class rather than an interface so that it
 * is its own injection token. Both deliver at least once, asynchronously: whatever must happen
 * once is the consumer's business (`runOnce`), not the queue's.
 */
export abstract class OrderEventQueue {
  /** Which implementation, for the start-up log line. */
  abstract readonly kind: string;

  /** Queues the event; resolves once it is queued. */
  abstract publish(event: OrderPlaced): Promise<void>;

  /** Delivers every event, published before or after, to `handler` (one handler per queue). */
  abstract consume(handler: OrderEventHandler): void;
}
