import { describe, expect, it, jest } from '@jest/globals';
import * as microservices from '@nestjs/microservices';
import {
  KafkaContext,
  KafkaRetriableException,
  RmqContext,
  TcpContext,
} from '@nestjs/microservices';
import { deliveryOf, REQUEUE_DELAY_MS } from './delivery.js';

/** What the module does to an amqplib channel: each call, in order (the real broker: test/messages-rabbitmq.spec.ts). */
function recordingChannel() {
  const calls: string[] = [];
  return {
    calls,
    ack: (message: { id: string }) => calls.push(`ack ${message.id}`),
    nack: (message: { id: string }, allUpTo: boolean, requeue: boolean) =>
      calls.push(`nack ${message.id} allUpTo=${allUpTo} requeue=${requeue}`),
  };
}

describe('deliveryOf', () => {
  it('RabbitMQ with manual acks: ack, nack to the dead-letter exchange, requeue after a delay', () => {
    jest.useFakeTimers();
    try {
      const channel = recordingChannel();
      const delivery = deliveryOf(
        new RmqContext([{ id: 'm' }, channel, 'p']),
        false,
        microservices,
      );
      delivery.acknowledge();
      delivery.reject();
      delivery.requeue();
      expect(channel.calls).toEqual(['ack m', 'nack m allUpTo=false requeue=false']);
      jest.advanceTimersByTime(REQUEUE_DELAY_MS);
      expect(channel.calls.at(-1)).toBe('nack m allUpTo=false requeue=true');
    } finally {
      jest.useRealTimers();
    }
  });

  it('RabbitMQ with noAck: the broker acked on delivery, nothing to settle', () => {
    const channel = recordingChannel();
    const delivery = deliveryOf(new RmqContext([{ id: 'm' }, channel, 'p']), true, microservices);
    delivery.acknowledge();
    delivery.reject();
    delivery.requeue();
    expect(channel.calls).toEqual([]);
  });

  it('a closed channel does not throw: the broker requeues what it was not told about', () => {
    const closed = {
      ack: () => {
        throw new Error('Channel closed');
      },
      nack: () => {
        throw new Error('Channel closed');
      },
    };
    const delivery = deliveryOf(new RmqContext([{}, closed, 'p']), false, microservices);
    expect(() => (delivery.acknowledge(), delivery.reject())).not.toThrow();
  });

  it('Kafka: a copy is given back with a retriable exception (the offset stays uncommitted)', () => {
    const context = new KafkaContext([
      {} as never,
      0,
      't',
      {} as never,
      async () => {},
      {} as never,
    ]);
    expect(() => deliveryOf(context, true, microservices).requeue()).toThrow(
      KafkaRetriableException,
    );
  });

  it('transports that never redeliver (TCP): nothing to settle', () => {
    const delivery = deliveryOf(new TcpContext([{} as never, 'p']), true, microservices);
    expect([delivery.acknowledge(), delivery.requeue(), delivery.reject()]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});
