import { Logger, Module } from '@nestjs/common';
import { IdempotencyGuard } from './idempotency.guard.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';
import { IdempotencyMetrics } from './idempotency.metrics.js';
import { IDEMPOTENCY_SETTINGS, OPENAPI_DECORATIONS, TOKEN_STORE } from './idempotency.constants.js';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './idempotency.module-definition.js';
import { type IdempotencySettings, resolveSettings } from './idempotency.settings.js';
import type { IdempotencyModuleOptions } from './interfaces/idempotency-module-options.interface.js';
import type { TokenStore } from './interfaces/token-store.interface.js';
import { applyOpenApiDecorations } from './openapi/openapi-decorator.js';
import { OutcomeRecorder } from './outcome.recorder.js';
import { ProblemDetailsFilter } from './problems/problem-details.filter.js';
import { InstrumentedTokenStore } from './stores/instrumented-token.store.js';
import { MemoryTokenStore } from './stores/memory-token.store.js';
import { RedisTokenStore } from './stores/redis-token.store.js';
import { TokenCodec } from './tokens/token-codec.js';
import { TokensService } from './tokens/tokens.service.js';

function createStore(options: IdempotencyModuleOptions, settings: IdempotencySettings): TokenStore {
  if (options.store) return options.store;
  if (options.redis) return new RedisTokenStore(options.redis, { keyPrefix: settings.keyPrefix });
  if (process.env.NODE_ENV === 'production') {
    throw new Error(
      'IdempotencyModule: the in-memory store is single-instance and refused under NODE_ENV=production; pass a Redis or Cluster client as the `redis` option (or your own `store`).',
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
      provide: TOKEN_STORE,
      inject: [MODULE_OPTIONS_TOKEN, IDEMPOTENCY_SETTINGS, IdempotencyMetrics],
      useFactory: (
        options: IdempotencyModuleOptions,
        settings: IdempotencySettings,
        metrics: IdempotencyMetrics,
      ) => new InstrumentedTokenStore(createStore(options, settings), metrics),
    },
    {
      provide: TokenCodec,
      inject: [IDEMPOTENCY_SETTINGS],
      useFactory: (settings: IdempotencySettings) => new TokenCodec(settings.secret),
    },
    TokensService,
    OutcomeRecorder,
    IdempotencyGuard,
    IdempotencyInterceptor,
    ProblemDetailsFilter,
  ],
  exports: [
    IDEMPOTENCY_SETTINGS,
    TOKEN_STORE,
    IdempotencyMetrics,
    TokenCodec,
    TokensService,
    OutcomeRecorder,
    IdempotencyGuard,
    IdempotencyInterceptor,
    ProblemDetailsFilter,
  ],
})
export class IdempotencyModule extends ConfigurableModuleClass {}
