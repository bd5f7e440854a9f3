import type { Cluster, Redis } from 'ioredis';
import type { LimiterOptions } from '../limiter/limiter-policy.js';
import type { SubjectResolver } from './caller.interface.js';
import type { TokenStore } from './token-store.interface.js';

/** Options of `IdempotencyModule.forRoot()` / `forRootAsync()`. Durations say their unit. */
export interface IdempotencyModuleOptions {
  /** Key for the tokens' HMAC-SHA256 signature; at least 32 characters, shared by every instance. */
  secret: string;
  /**
   * Redis or Redis Cluster client for the Redis store. The module never closes it. Give it
   * `enableOfflineQueue: false` and a `commandTimeout` so that an outage answers 503 at once.
   */
  redis?: Redis | Cluster;
  /** Any other {@link TokenStore}; wins over `redis`. Neither: the in-memory store (not under `NODE_ENV=production`). */
  store?: TokenStore;
  /** Redis key prefix. Default `idem:`. */
  keyPrefix?: string;
  /** Lifetime of a token when `GET /tokens` asks for none, in seconds. Default 900. */
  tokenTtlSeconds?: number;
  /** Longest lifetime `GET /tokens?ttl=` may ask for, in seconds. Default 86400. */
  maxTokenTtlSeconds?: number;
  /** How long the first request's outcome is kept for copies, in seconds. Default 86400. */
  resultTtlSeconds?: number;
  /** How long a first request that never finishes counts as in progress, in seconds. Default 60. */
  inProgressTtlSeconds?: number;
  /** Largest answer body kept for replay, in bytes; copies of a larger one get `TOKEN_USED`. Default 65536. */
  maxStoredResponseBytes?: number;
  /** How many tokens one caller may fetch (sliding window) and hold. Defaults: 60 per 60 s, 100 held. */
  limits?: LimiterOptions;
  /**
   * Limits for tokens of some scopes, e.g. `{ payments: { rateLimit: 5 } }`. Such tokens count
   * apart from the others; a field left out falls back to `limits`.
   */
  scopeLimits?: Record<string, LimiterOptions>;
  /** Who a token is bound to. Default: `request.user.id`, else `request.user.sub`. */
  resolveSubject?: SubjectResolver;
}
