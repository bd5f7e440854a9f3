/** How a message's run is kept: shared by `runOnce()` and `@Idempotent({ key })`. */
export interface MessageRunOptions {
  /** Keeps the keys of different consumers apart (one message id may reach several). Same syntax as a token scope. */
  scope?: string;
  /** How long a run counts as in progress before it is taken for dead. Whole seconds, default 60. */
  leaseSeconds?: number;
  /** How long a finished run is remembered, and its result returned to redeliveries. Whole seconds, default 86 400. */
  keepSeconds?: number;
  /**
   * A delivery whose earlier run died (lease over, nothing recorded): run it again (`retry`,
   * the default: the broker's own contract, for work that is safe to repeat after a partial
   * run) or never run it twice (`skip`: it is reported as `crashed`, logged, counted and, on
   * RabbitMQ with manual acks, dead-lettered).
   */
  afterCrash?: 'retry' | 'skip';
}

/**
 * `@Idempotent()` on a Nest microservice handler (`@EventPattern`, `@MessagePattern`): the
 * handler runs at most once per message id, on any transport.
 */
export interface IdempotentMessageOptions<TData = unknown> extends MessageRunOptions {
  /**
   * The message's own id, from its payload or the transport's context (e.g. an AMQP
   * `messageId`, a Kafka key): every redelivery and copy of a message must give the same
   * string, and different messages different ones. A delivery without one is refused.
   * (A method signature, so that `(order: Order) => order.id` fits without a cast.)
   */
  key(data: TData, context: unknown): string;
  /**
   * RabbitMQ only: the same value as the RMQ server's `noAck` option (Nest's default `true`).
   * With `false` (manual acks) the module acknowledges duplicates, requeues copies of a run in
   * progress (after a second, so they do not spin) and rejects skipped crashed runs without
   * requeue; a delivery that runs is acknowledged by the handler, as before.
   */
  noAck?: boolean;
}
