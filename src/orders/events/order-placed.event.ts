/**
 * The demo's "order placed" event. Its own id is the order's: an order is placed once, so one
 * event per order, and every redelivery or republication of it carries the same id. That id is
 * what the confirmation consumer keys `runOnce` on.
 */
export interface OrderPlaced {
  orderId: string;
  item: string;
  quantity: number;
  placedAt: string;
}
