import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster, Redis } from 'ioredis';
import request from 'supertest';
import type { AdapterKind } from '../src/app.setup.js';
import { OrderEventQueue } from '../src/orders/events/order-event-queue.js';
import {
  ADAPTERS,
  fetchToken,
  placeOrder,
  type RunningApp,
  sleep,
  startService,
} from './support/app-harness.js';
import { connectRedis } from './support/redis-clients.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedis,
  startRedisCluster,
} from './support/redis-harness.js';

/** Asks `probe` every 50 ms until it returns something other than `undefined`, for up to `ms`. */
async function eventually<T>(probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`nothing after ${ms} ms`);
    await sleep(50);
  }
}

/** `idempotency_messages_total{outcome}` as /metrics shows it (0 before the first). */
async function messages(url: string, outcome: string): Promise<number> {
  const text = (await request(url).get('/metrics')).text;
  const line = new RegExp(`^idempotency_messages_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm');
  return Number(line.exec(text)?.[1] ?? 0);
}

interface Store {
  name: string;
  queue: 'in-process' | 'bullmq' | 'off';
  /** The environment that selects it; `undefined` until the servers are up. */
  env: () => Record<string, string>;
  /** A client on its Redis, to see the queue's keys; none for the memory store. */
  redis?: () => Redis | Cluster;
  /** Default: both. */
  adapters?: AdapterKind[];
}

let server: RedisServerHandle;
let cluster: RedisClusterHandle;
let serverClient: Redis | Cluster;
let clusterClient: Redis | Cluster;

const STORES: Store[] = [
  { name: 'the memory store and the in-process queue', queue: 'in-process', env: () => ({}) },
  {
    name: 'Redis and BullMQ',
    queue: 'bullmq',
    env: () => ({ REDIS_URL: server.url }),
    redis: () => serverClient,
  },
  {
    name: 'Redis and the in-process queue (ORDER_EVENTS_QUEUE=in-process)',
    queue: 'in-process',
    env: () => ({ REDIS_URL: server.url, ORDER_EVENTS_QUEUE: 'in-process' }),
    adapters: ['express'],
  },
  {
    name: 'Redis Cluster and BullMQ',
    queue: 'bullmq',
    env: () => ({
      REDIS_CLUSTER_NODES: cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(','),
    }),
    redis: () => clusterClient,
    adapters: ['fastify'], // the queue does not care; one app fewer to start
  },
];

/** The demo's "order placed" event, confirmed exactly once however often it is delivered (issue 13). */
describe('order placed events', () => {
  beforeAll(async () => {
    [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
    [serverClient, clusterClient] = await Promise.all([
      connectRedis(server),
      connectRedis({ nodes: cluster.nodes }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([serverClient?.quit(), clusterClient?.quit()]);
    await Promise.all([server?.stop(), cluster?.stop()]);
  });

  const cases = STORES.flatMap((store) =>
    (store.adapters ?? ADAPTERS).map(
      (adapter) => [`${store.name}, ${adapter}`, store, adapter] as const,
    ),
  );

  describe.each(cases)('with %s', (_name, store: Store, adapter: AdapterKind) => {
    let service: RunningApp;

    beforeAll(async () => {
      service = await startService(store.env(), { adapter });
    }, 30_000);
    afterAll(async () => {
      const started = Date.now();
      await service?.close();
      // BullMQ's worker and connections must not hold the process after app.close().
      expect(Date.now() - started).toBeLessThan(3_000);
    });

    it('confirms a placed order once, and once only when the event comes again', async () => {
      expect(service.app.get(OrderEventQueue).kind).toBe(store.queue);
      const token = await fetchToken(service.url, { scope: 'orders.create' });
      const placed = await placeOrder(service.url, token, { item: 'book', quantity: 2 });
      expect(placed.status).toBe(201);
      expect(placed.body).toMatchObject({ item: 'book', quantity: 2, confirmationsSent: 0 });
      const { id, createdAt } = placed.body as { id: string; createdAt: string };

      const confirmed = await eventually(async () => {
        const order = await request(service.url).get(`/orders/${id}`);
        expect(order.status).toBe(200);
        return order.body.confirmationsSent === 1 ? order.body : undefined;
      });
      expect(confirmed).toEqual({ id, item: 'book', quantity: 2, createdAt, confirmationsSent: 1 });
      // Counted once runOnce returns, after the result's write: a moment after the confirmation.
      expect(
        await eventually(async () => ((await messages(service.url, 'ran')) === 1 ? 1 : undefined)),
      ).toBe(1);

      // The broker delivers it again (a redelivery, a second publisher): not sent again.
      const event = { orderId: id, item: 'book', quantity: 2, placedAt: createdAt };
      await service.app.get(OrderEventQueue).publish(event);
      await eventually(async () =>
        (await messages(service.url, 'duplicate')) >= 1 ? 1 : undefined,
      );
      expect(await messages(service.url, 'duplicate')).toBe(1);
      expect((await request(service.url).get(`/orders/${id}`)).body.confirmationsSent).toBe(1);
      expect(await messages(service.url, 'ran')).toBe(1);

      // A replay of the POST is its first answer, as it was then.
      const replay = await placeOrder(service.url, token, { item: 'book', quantity: 2 });
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body).toMatchObject({ id, confirmationsSent: 0 });

      if (store.redis) {
        // The events went through BullMQ's keys, one hash tag for the whole queue.
        const redis = store.redis();
        const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
        const keys = (
          await Promise.all(nodes.map((node) => node.keys('{bull}:order-events:*')))
        ).flat();
        expect(keys.length).toBeGreaterThan(0);
      }
    });

    it('answers GET /orders/:id with 404 for an unknown order and 400 for a malformed id', async () => {
      const unknown = await request(service.url).get(
        '/orders/7c0d6a8e-1111-4a4a-8b8b-000000000000',
      );
      expect(unknown.status).toBe(404);
      expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(unknown.body).toMatchObject({ status: 404, code: 'ORDER_NOT_FOUND' });

      for (const id of ['not-an-id', '7C0D6A8E-1111-4A4A-8B8B-000000000000', 'x'.repeat(90)]) {
        const malformed = await request(service.url).get(`/orders/${id}`);
        expect(malformed.status).toBe(400);
        expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(malformed.body).toMatchObject({
          code: 'VALIDATION_FAILED',
          errors: ['id must be a UUID'],
        });
      }
    });
  });

  describe('with ORDER_EVENTS_QUEUE=off', () => {
    let service: RunningApp;
    beforeAll(async () => {
      service = await startService({ REDIS_URL: server.url, ORDER_EVENTS_QUEUE: 'off' });
    });
    afterAll(async () => {
      await service?.close();
    });

    it('places orders without events: nothing confirmed, nothing counted', async () => {
      const token = await fetchToken(service.url, { scope: 'orders.create' });
      const placed = await placeOrder(service.url, token);
      expect(placed.status).toBe(201);
      await sleep(300);
      const order = await request(service.url).get(`/orders/${placed.body.id}`);
      expect(order.body.confirmationsSent).toBe(0);
      expect(await messages(service.url, 'ran')).toBe(0);
    });
  });
});
