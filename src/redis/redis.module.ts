import { Global, Inject, Logger, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { createRedisClient } from './redis-client.factory.js';

/** Injection token of the app's Redis or Cluster client, `undefined` without one. */
export const REDIS_CLIENT = Symbol('RedisClient');

const READY_WAIT_MS = 5_000;

/** Owns the app's Redis connection: made from the config, awaited at start, closed at shutdown. */
@Global()
@Module({
  providers: [{ provide: REDIS_CLIENT, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createRedisClient(config) }],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Redis');

  constructor(@Inject(REDIS_CLIENT) private readonly client: Redis | Cluster | undefined) {}

  /**
   * Without an offline queue, commands sent before the connection is ready fail: wait for it,
   * but start anyway when Redis is down (health says 503 until it is back).
   */
  async onModuleInit(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'ready') return;
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => client.once('ready', () => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), READY_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!ready) this.logger.error(`Redis not ready after ${READY_WAIT_MS} ms; starting anyway, answering 503 until it is`);
    else this.logger.log('Redis connection ready');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
