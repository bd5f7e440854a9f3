export interface Order {
  id: string;
  item: string;
  quantity: number;
  createdAt: string;
  /** Set once the order is cancelled. */
  cancelledAt?: string;
}
