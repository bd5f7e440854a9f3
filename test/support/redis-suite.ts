/**
 * The set-up most service specs share: one redis-server for a `describe` block, the services a
 * test starts on it closed after the test, and Redis emptied between tests (every test's
 * limits start from an empty window).
 */
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import type { Redis } from 'ioredis';
import { type RunningApp, type StartOptions, startService } from './app-harness.js';
import { connectRedis } from './redis-clients.js';
import { type RedisServerHandle, startRedis } from './redis-harness.js';

export interface RedisSuite {
  /** A client of the suite's Redis, for what a test checks there. */
  readonly redis: Redis;
  readonly server: RedisServerHandle;
  /** The service on the suite's Redis, with this environment; closed after the test. */
  service(env?: Record<string, string>, options?: StartOptions): Promise<RunningApp>;
  /** Closes an app the test started itself after the test, as the services. */
  track(app: RunningApp): RunningApp;
}

export function redisSuite(): RedisSuite {
  let server: RedisServerHandle | undefined;
  let redis: Redis | undefined;
  const running: RunningApp[] = [];

  beforeAll(async () => {
    server = await startRedis();
    redis = (await connectRedis(server)) as Redis;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
    await redis?.flushall();
  });
  afterAll(async () => {
    await redis?.quit();
    await server?.stop();
  });

  return {
    get redis() {
      return redis!;
    },
    get server() {
      return server!;
    },
    async service(env = {}, options = {}) {
      return this.track(await startService({ REDIS_URL: server!.url, ...env }, options));
    },
    track(app) {
      running.push(app);
      return app;
    },
  };
}
