import {
  Global,
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { createRedisClient, waitForReady } from './redis-client.factory.js';

/** Injection token of the app's Redis or Cluster client, `undefined` without one. */
export const REDIS_CLIENT = Symbol('RedisClient');

const READY_WAIT_MS = 5_000;

/** Owns the app's Redis connection: made from the config, awaited at start, closed at shutdown. */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createRedisClient(config),
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');

  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis | Cluster | undefined) {
    // Without a listener ioredis prints every failed reconnect; log each outage once instead.
    let down = false;
    client?.on('error', (error: Error) => {
      if (!down)
        this.logger.error(`Redis unreachable (${error.message}); answering 503 until it is back`);
      down = true;
    });
    client?.on('ready', () => {
      if (down) this.logger.log('Redis connection restored');
      down = false;
    });
  }

  /** Starts anyway when Redis is down: requests get 503 and health says so until it is back. */
  async onModuleInit(): Promise<void> {
    if (!this.client) return;
    if (await waitForReady(this.client, READY_WAIT_MS)) this.logger.log('Redis connection ready');
    else
      this.logger.error(
        `Redis not ready after ${READY_WAIT_MS} ms; starting anyway, answering 503 until it is`,
      );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
