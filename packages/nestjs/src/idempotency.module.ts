import {
  Inject,
  Logger,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { Cluster, Redis } from 'ioredis';
import { unservableHandlers } from './decorators/unservable-handlers.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyMetrics } from './idempotency.metrics.js';
import { IdempotentMessageInterceptor } from './messages/idempotent-message.interceptor.js';
import {
  IDEMPOTENCY_SETTINGS,
  OPENAPI_DECORATIONS,
  OWNED_REDIS_CLIENT,
  TOKEN_STORE,
} from './idempotency.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './idempotency.module-definition.js';
import { type IdempotencySettings, resolveSettings } from './idempotency.settings.js';
import type { IdempotencyModuleOptions } from './interfaces/idempotency-module-options.interface.js';
import type { TokenStore } from './interfaces/token-store.interface.js';
import { applyOpenApiDecorations } from './openapi/openapi-decorator.js';
import { OutcomeRecorder } from './outcomes/outcome.recorder.js';
import { IdempotencyRefusalFilter } from './problems/idempotency-refusal.filter.js';
import { ProblemDetailsFilter } from './problems/problem-details.filter.js';
import { InstrumentedTokenStore } from './stores/instrumented-token.store.js';
import { MemoryTokenStore } from './stores/memory-token.store.js';
import { closeRedisClient, createRedisClient, isRedisClient } from './stores/redis-connection.js';
import { RedisEvictionCheck } from './stores/redis-eviction-check.js';
import { RedisTokenStore } from './stores/redis-token.store.js';
import { TokenCodec } from './tokens/token-codec.js';
import { TokensService } from './tokens/tokens.service.js';

type RedisClient = Redis | Cluster;

/** The Redis client the module's store uses: the one it made, or the one it was given; none with `store`. */
function storeRedis(
  options: IdempotencyModuleOptions,
  ownedRedis: RedisClient | undefined,
): RedisClient | undefined {
  if (options.store) return undefined;
  return ownedRedis ?? (isRedisClient(options.redis) ? options.redis : undefined);
}

function createStore(
  options: IdempotencyModuleOptions,
  settings: IdempotencySettings,
  ownedRedis: RedisClient | undefined,
): TokenStore {
  if (options.store) return options.store;
  const redis = storeRedis(options, ownedRedis);
  if (redis) {
    const { keyPrefix, minReplicas, replicaTimeoutMs } = settings;
    return new RedisTokenStore(redis, { keyPrefix, minReplicas, replicaTimeoutMs });
  }
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'IdempotencyModule: the in-memory store is single-instance and refused under NODE_ENV=production; pass a Redis or Cluster client (or a redis:// URL) as the `redis` option, or your own `store`.',
    );
  }
  new Logger('Idempotency').warn(
    'Using the in-memory token store: single instance only, tokens are lost on restart. Give the module a Redis client for anything shared.',
  );
  return new MemoryTokenStore();
}

/**
 * One-time idempotency tokens: `GET /tokens` issues, `@Idempotent()` consumes.
 *
 * ```ts
 * IdempotencyModule.forRoot({ secret: process.env.TOKEN_SECRET, redis: new Redis(url, { enableOfflineQueue: false }) })
 * ```
 */
@Module({
  providers: [
    { provide: IDEMPOTENCY_SETTINGS, inject: [MODULE_OPTIONS_TOKEN], useFactory: resolveSettings },
    { provide: IdempotencyMetrics, useFactory: IdempotencyMetrics.create },
    { provide: OPENAPI_DECORATIONS, useFactory: applyOpenApiDecorations },
    {
      // A client the module made from a URL or options is the module's to close; one it was given is not.
      provide: OWNED_REDIS_CLIENT,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: ({ redis, store }: IdempotencyModuleOptions) =>
        redis && !store && !isRedisClient(redis) ? createRedisClient(redis) : undefined,
    },
    {
      provide: TOKEN_STORE,
      inject: [MODULE_OPTIONS_TOKEN, IDEMPOTENCY_SETTINGS, IdempotencyMetrics, OWNED_REDIS_CLIENT],
      useFactory: (
        options: IdempotencyModuleOptions,
        settings: IdempotencySettings,
        metrics: IdempotencyMetrics,
        ownedRedis: RedisClient | undefined,
      ) => new InstrumentedTokenStore(createStore(options, settings, ownedRedis), metrics),
    },
    {
      // Its onModuleInit refuses or warns about a Redis that may evict (`evictionCheck`).
      provide: RedisEvictionCheck,
      inject: [MODULE_OPTIONS_TOKEN, OWNED_REDIS_CLIENT],
      useFactory: (options: IdempotencyModuleOptions, ownedRedis: RedisClient | undefined) => {
        const redis = storeRedis(options, ownedRedis);
        return redis && new RedisEvictionCheck(redis, options.evictionCheck);
      },
    },
    {
      provide: TokenCodec,
      inject: [IDEMPOTENCY_SETTINGS],
      useFactory: (settings: IdempotencySettings) => new TokenCodec(settings.secret),
    },
    TokensService,
    OutcomeRecorder,
    IdempotencyInterceptor,
    IdempotentMessageInterceptor,
    IdempotencyRefusalFilter,
    ProblemDetailsFilter,
  ],
  imports: [DiscoveryModule],
  exports: [
    IDEMPOTENCY_SETTINGS,
    TOKEN_STORE,
    IdempotencyMetrics,
    TokenCodec,
    TokensService,
    OutcomeRecorder,
    IdempotencyInterceptor,
    IdempotentMessageInterceptor,
    IdempotencyRefusalFilter,
    ProblemDetailsFilter,
  ],
})
export class IdempotencyModule
  extends ConfigurableModuleClass
  implements OnModuleInit, OnApplicationShutdown
{
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(OWNED_REDIS_CLIENT) private readonly ownedRedis: RedisClient | undefined,
    @Inject(TOKEN_STORE) private readonly store: TokenStore,
  ) {
    super();
  }

  /** Refuses to start with an `@Idempotent()` the module cannot serve, rather than fail on its first call. */
  onModuleInit(): void {
    const unservable = unservableHandlers(this.discovery, this.scanner);
    if (unservable.length > 0) {
      throw new Error(`@Idempotent() cannot be served where it is: ${unservable.join('; ')}.`);
    }
  }

  /** The store's own connections first (a subscriber for waiting copies), then the client. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.close?.();
    if (this.ownedRedis) await closeRedisClient(this.ownedRedis);
  }
}
