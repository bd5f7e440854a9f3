import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { AppModule } from '../src/app.module.js';
import { createApp } from '../src/app.setup.js';
import { loadConfig } from '../src/config/app-config.js';
import {
  CapturingLogger,
  type RunningApp,
  sleep,
  startService,
  TEST_SECRET,
} from './support/app-harness.js';
import {
  type RedisClusterHandle,
  type RedisServerHandle,
  startRedis,
  startRedisCluster,
} from './support/redis-harness.js';

const EVICTION_WARNING = /maxmemory-policy allkeys-lru: it may evict stored outcomes/;
const UNREADABLE = /Could not read the maxmemory-policy of Redis/;

/** Starts the service on `env` with a logger of its own; the caller closes it. */
async function started(env: Record<string, string>) {
  const logger = new CapturingLogger();
  const service = await startService(env, { logger });
  return { service, log: () => logger.lines.join('\n') };
}

/** The service reconnects within a second or two; give it ten. */
async function waitForLog(log: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(log()) && Date.now() < deadline) await sleep(100);
  expect(log()).toMatch(pattern);
}

/** The error the service's start fails with (the app is closed again). */
async function startRefusal(env: Record<string, string>): Promise<Error> {
  const app = await createApp(
    AppModule.forRoot(loadConfig({ TOKEN_SECRET: TEST_SECRET, ...env })),
    {
      logger: false,
    },
  );
  try {
    await app.init();
  } catch (error) {
    return error as Error;
  } finally {
    await app.close();
  }
  throw new Error('the service started');
}

/** docs/CONTRACT.md, "Store faults": Redis must not evict; checked at start and on every reconnect. */
describe('Redis maxmemory-policy', () => {
  let evicting: RedisServerHandle;
  let safe: RedisServerHandle;
  let hidden: RedisServerHandle;
  const running: RunningApp[] = [];

  beforeAll(async () => {
    [evicting, safe, hidden] = await Promise.all([
      startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] }),
      startRedis(),
      // Managed Redis services hide CONFIG the same way.
      startRedis({ args: ['--rename-command', 'CONFIG', ''] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(running.map((service) => service.close()));
    await Promise.all([evicting.stop(), safe.stop(), hidden.stop()]);
  });

  const keep = <T extends { service: RunningApp }>(start: T): T => {
    running.push(start.service);
    return start;
  };

  it('refuses to start under NODE_ENV=production, naming the policy and how to accept it', async () => {
    const error = await startRefusal({ NODE_ENV: 'production', REDIS_URL: evicting.url });
    expect(error.message).toMatch(EVICTION_WARNING);
    expect(error.message).toContain(`Redis 127.0.0.1:${evicting.port}`);
    expect(error.message).toContain('REDIS_ALLOW_EVICTION=true');
  }, 20_000);

  it('starts under NODE_ENV=production with REDIS_ALLOW_EVICTION=true, with a warning', async () => {
    const { service, log } = keep(
      await started({
        NODE_ENV: 'production',
        REDIS_URL: evicting.url,
        REDIS_ALLOW_EVICTION: 'true',
      }),
    );
    expect(log()).toMatch(EVICTION_WARNING);
    expect((await fetch(`${service.url}/tokens`)).status).toBe(200);
  }, 20_000);

  it('warns outside production', async () => {
    const { log } = keep(await started({ REDIS_URL: evicting.url }));
    expect(log()).toMatch(EVICTION_WARNING);
  }, 20_000);

  it('says nothing of eviction on noeviction', async () => {
    const { log } = keep(await started({ NODE_ENV: 'production', REDIS_URL: safe.url }));
    expect(log()).not.toMatch(/maxmemory-policy/);
  }, 20_000);

  it('logs that the policy could not be read where CONFIG is hidden, and starts', async () => {
    const { service, log } = keep(await started({ NODE_ENV: 'production', REDIS_URL: hidden.url }));
    expect(log()).toMatch(UNREADABLE);
    expect(log()).toContain(`127.0.0.1:${hidden.port}`);
    expect((await fetch(`${service.url}/tokens`)).status).toBe(200);
  }, 20_000);

  it('checks a Redis that is down at start once it connects', async () => {
    const server = await startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    await server.stop();
    try {
      const { log } = keep(await started({ REDIS_URL: server.url }));
      expect(log()).not.toMatch(EVICTION_WARNING);
      await server.start();
      await waitForLog(log, EVICTION_WARNING);
    } finally {
      await running.pop()!.close();
      await server.stop();
    }
  }, 30_000);

  it('warns when a reconnect finds an evicting policy', async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    try {
      const { log } = keep(await started({ REDIS_URL: server.url }));
      expect(log()).not.toMatch(/maxmemory-policy/);

      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal'); // every client but this one: the service reconnects
      await waitForLog(log, EVICTION_WARNING);
    } finally {
      await running.pop()!.close();
      await admin.quit();
      await server.stop();
    }
  }, 30_000);
});

describe('Redis Cluster maxmemory-policy', () => {
  let cluster: RedisClusterHandle;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it('checks every master and names the one that may evict', async () => {
    const [, second] = cluster.nodes;
    const node = new Redis(second.port, second.host);
    await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await node.quit();
    const nodes = cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(',');

    const error = await startRefusal({ NODE_ENV: 'production', REDIS_CLUSTER_NODES: nodes });
    expect(error.message).toMatch(EVICTION_WARNING);
    expect(error.message).toContain(`Redis 127.0.0.1:${second.port} has`);
    for (const other of cluster.nodes.filter(({ port }) => port !== second.port))
      expect(error.message).not.toContain(`:${other.port}`);
  }, 30_000);
});
