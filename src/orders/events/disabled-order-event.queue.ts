import type { OrderPlaced } from './order-placed.event.js';
import { OrderEventQueue } from './order-event-queue.js';

/**
 * `ORDER_EVENTS_QUEUE=off`: events go nowhere and no confirmation is sent, so that placing an
 * order costs only the token work (what benchmarks and round-trip counts measure).
 */
export class DisabledOrderEventQueue extends OrderEventQueue {
  readonly kind = 'off';

  async publish(_event: OrderPlaced): Promise<void> {}

  consume(): void {}
}
