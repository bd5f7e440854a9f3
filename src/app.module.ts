import {
  type DynamicModule,
  type MiddlewareConsumer,
  Module,
  type NestModule,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import type { Cluster, Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import type { AppConfig } from './config/app-config.js';
import { APP_CONFIG, ConfigModule } from './config/config.module.js';
import { DemoController } from './demo/demo.controller.js';
import { HealthModule } from './health/health.module.js';
import { JsonOnlyMiddleware } from './http/json-only.js';
import { IdempotencyModule } from '@idempotency-tokens/nestjs';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { OrdersModule } from './orders/orders.module.js';
import { PaymentsModule } from './payments/payments.module.js';
import { REDIS_CLIENT, RedisModule } from './redis/redis.module.js';

/** The token service: the idempotency module on the app's Redis, the demo orders, payments and page, health, metrics, logs. */
@Module({})
export class AppModule implements NestModule {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Fastify refuses bodies other than JSON in a hook of its own (src/http/fastify-adapter.ts). */
  configure(consumer: MiddlewareConsumer): void {
    if (this.adapterHost.httpAdapter.getType() === 'express')
      consumer.apply(JsonOnlyMiddleware).forRoutes('*');
  }

  /** `logDestination`: where request logs go instead of stdout (tests read them). */
  static forRoot(config: AppConfig, logDestination?: DestinationStream): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, logDestination),
        RedisModule,
        IdempotencyModule.forRootAsync({
          inject: [APP_CONFIG, REDIS_CLIENT],
          useFactory: (app: AppConfig, redis: Redis | Cluster | undefined) => ({
            secret: app.tokenSecret,
            redis,
            evictionCheck: {
              onEvicting: app.production && !app.redisAllowEviction ? 'refuse' : 'warn',
              acceptWith: 'REDIS_ALLOW_EVICTION=true',
            },
            tokenTtlSeconds: app.tokenTtlSeconds,
            maxTokenTtlSeconds: app.maxTokenTtlSeconds,
            maxBatch: app.maxBatch,
            resultTtlSeconds: app.resultTtlSeconds,
            inProgressTtlSeconds: app.inProgressTtlSeconds,
            minReplicas: app.redisMinReplicas,
            replicaTimeoutMs: app.redisReplicaTimeoutMs,
            limits: {
              rateLimit: app.tokenRateLimit,
              rateWindowSeconds: app.tokenRateWindowSeconds,
              maxOutstanding: app.tokenMaxOutstanding,
            },
          }),
        }),
        OrdersModule,
        PaymentsModule,
        HealthModule,
        MetricsModule,
      ],
      controllers: [DemoController],
      // Without API keys every caller is anonymous: no guard to run on every request.
      providers: config.apiKeys.size > 0 ? [{ provide: APP_GUARD, useClass: ApiKeyGuard }] : [],
    };
  }
}
