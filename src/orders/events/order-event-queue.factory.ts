import { createRedisClient, type RedisConnection } from '@idempotency-tokens/nestjs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../../config/app-config.js';
import { type RedisConfig, redisConnection } from '../../redis/redis-client.factory.js';
import { BullmqOrderEventQueue } from './bullmq-order-event.queue.js';
import { DisabledOrderEventQueue } from './disabled-order-event.queue.js';
import { InProcessOrderEventQueue } from './in-process-order-event.queue.js';
import type { OrderEventQueue } from './order-event-queue.js';

/**
 * The worker's connection: BullMQ's blocking commands need `maxRetriesPerRequest: null` (and no
 * command time-out); it reconnects every second at most, as the app's client does.
 */
const WORKER_REDIS_OPTIONS = {
  maxRetriesPerRequest: null,
  connectTimeout: 2_000,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 1_000),
} satisfies RedisOptions;

/**
 * Every key of the queue under one hash tag: on Redis Cluster BullMQ's scripts touch several
 * keys of a queue at once, which must share a slot. The same prefix on a single Redis, so that
 * the keys do not change with the deployment.
 */
const QUEUE_PREFIX = '{bull}';

/**
 * The "order placed" queue the configuration calls for (`ORDER_EVENTS_QUEUE`, `auto` by
 * default): BullMQ on the service's Redis or Cluster when there is one (events survive a
 * restart and any instance may consume them), in process otherwise (`npm start` needs nothing
 * installed). The clients made here belong to the queue, which closes them at shutdown.
 */
export function createOrderEventQueue(
  config: RedisConfig & Pick<AppConfig, 'orderEventsQueue'>,
): OrderEventQueue {
  if (config.orderEventsQueue === 'off') return new DisabledOrderEventQueue();
  const connection = redisConnection(config);
  if (config.orderEventsQueue === 'in-process' || !connection)
    return new InProcessOrderEventQueue();
  return new BullmqOrderEventQueue(
    createRedisClient(connection),
    workerClient(connection),
    QUEUE_PREFIX,
  );
}

function workerClient(connection: RedisConnection): Redis | Cluster {
  if (typeof connection === 'string') return new Redis(connection, WORKER_REDIS_OPTIONS);
  if ('cluster' in connection) {
    const { retryStrategy, ...redisOptions } = WORKER_REDIS_OPTIONS;
    return new Cluster(connection.cluster, { clusterRetryStrategy: retryStrategy, redisOptions });
  }
  return new Redis({ ...connection, ...WORKER_REDIS_OPTIONS });
}
