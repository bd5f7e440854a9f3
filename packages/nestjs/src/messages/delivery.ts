import type * as Microservices from '@nestjs/microservices';

/** What the module may do to a delivery that it did not hand to the handler. */
export interface Delivery {
  /** Done with it: it ran before, or its requester was answered. */
  acknowledge(): void;
  /** Another delivery of the message is running: give this one back for later. */
  requeue(): void;
  /** Never to run (a crashed run under `afterCrash: 'skip'`, or no key): dead-letter it where the broker can. */
  reject(): void;
}

/**
 * How long a RabbitMQ copy of a run in progress is held before it goes back to the queue:
 * requeued at once, it would come straight back to a consumer and spin until the run ends.
 */
export const REQUEUE_DELAY_MS = 1_000;

const nothing = () => undefined;
const NOTHING_TO_SETTLE: Delivery = { acknowledge: nothing, requeue: nothing, reject: nothing };

/**
 * Each transport's way of settling a delivery. RabbitMQ with manual acks (`noAck: false`):
 * ack, nack with requeue, nack without (to the dead-letter exchange). Kafka: a retriable
 * exception leaves the offset uncommitted, so kafkajs delivers the message again. The other
 * transports (TCP, Redis, NATS, MQTT, gRPC) do not redeliver: nothing to settle.
 */
export function deliveryOf(
  context: unknown,
  noAck: boolean,
  microservices: typeof Microservices,
): Delivery {
  if (context instanceof microservices.RmqContext && !noAck) {
    const channel = context.getChannelRef() as {
      ack(message: unknown): void;
      nack(message: unknown, allUpTo: boolean, requeue: boolean): void;
    };
    const message = context.getMessage();
    // A channel that closed meanwhile has given the message back to the broker already.
    const settle = (send: () => void) => {
      try {
        send();
      } catch {
        /* closed channel: the broker requeues what it had not been told about */
      }
    };
    return {
      acknowledge: () => settle(() => channel.ack(message)),
      requeue: () => {
        setTimeout(() => settle(() => channel.nack(message, false, true)), REQUEUE_DELAY_MS);
      },
      reject: () => settle(() => channel.nack(message, false, false)),
    };
  }
  if (context instanceof microservices.KafkaContext) {
    return {
      ...NOTHING_TO_SETTLE,
      requeue: () => {
        throw new microservices.KafkaRetriableException(
          'Another delivery of this message is running; deliver it again later',
        );
      },
    };
  }
  return NOTHING_TO_SETTLE;
}
