import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterHandle,
  type RedisServerHandle,
} from './redis-harness.js';

/** quit() is polite but rejects on a closed connection; disconnect() always works. */
async function close(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

describe('startRedis', () => {
  let server: RedisServerHandle;
  const clients: Redis[] = [];

  function client(options: RedisOptions = {}): Redis {
    const redis = new Redis(server.url, options);
    // Outage tests provoke connection errors on purpose; don't let ioredis log them as unhandled.
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  }

  beforeAll(async () => {
    server = await startRedis();
  });

  afterAll(async () => {
    await Promise.all(clients.map(close));
    await server?.stop();
  });

  it('answers PING at its url', async () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await client().ping()).toBe('PONG');
  });

  it('refuses connections after stop() and serves the same port again after start()', async () => {
    // Created before the outage with a short retry delay: it should reconnect by itself.
    const survivor = client({ retryStrategy: () => 50 });
    expect(await survivor.ping()).toBe('PONG');

    await server.stop();
    const probe = client({ lazyConnect: true, retryStrategy: () => null });
    const probeErrors: NodeJS.ErrnoException[] = [];
    probe.on('error', (err: NodeJS.ErrnoException) => probeErrors.push(err));
    // connect() itself rejects with a generic "Connection is closed."; the cause arrives as an 'error' event.
    await expect(probe.connect()).rejects.toThrow();
    expect(probeErrors.map((err) => err.code)).toContain('ECONNREFUSED');

    const portBefore = server.port;
    await server.start();
    expect(server.port).toBe(portBefore);
    expect(await client().ping()).toBe('PONG');
    expect(await survivor.ping()).toBe('PONG');
  });

  it('is a fresh, empty server after a restart', async () => {
    const redis = client();
    await redis.set('survives-restart?', 'yes');
    await server.stop();
    await server.start();
    expect(await client().get('survives-restart?')).toBeNull();
  });
});

describe('startRedisCluster', () => {
  let cluster: RedisClusterHandle | undefined;
  let redis: Cluster | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);

  afterAll(async () => {
    if (redis) await close(redis);
    await cluster?.stop();
  });

  it('spreads keys over three masters', async () => {
    expect(cluster!.nodes).toHaveLength(3);
    redis = new Cluster(cluster!.nodes);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];

    await Promise.all(keys.map((key) => redis!.set(key, `value-of-${key}`)));
    expect(await Promise.all(keys.map((key) => redis!.get(key)))).toEqual(
      keys.map((key) => `value-of-${key}`),
    );

    const slots = await Promise.all(keys.map((key) => redis!.cluster('KEYSLOT', key)));
    expect(new Set(slots).size).toBe(keys.length);

    const nodesReply = String(await redis.cluster('NODES'));
    // CLUSTER NODES lines: <id> <ip:port@bus> <flags, e.g. myself,master> ...
    const masters = nodesReply
      .split('\n')
      .filter((line) => line.split(' ')[2]?.split(',').includes('master'));
    expect(masters).toHaveLength(3);
    expect(nodesReply).not.toMatch(/\bfail\b/);

    // Every master really holds some of the keys, i.e. the client followed the slot map.
    const masterNodes = redis.nodes('master');
    expect(masterNodes).toHaveLength(3);
    const keysPerMaster = await Promise.all(masterNodes.map((node) => node.dbsize()));
    expect(keysPerMaster.every((count) => count > 0)).toBe(true);
    expect(keysPerMaster.reduce((sum, count) => sum + count, 0)).toBe(keys.length);
  }, 60_000);
});
