import type { Cluster, Redis } from 'ioredis';
import type { LimiterOptions } from '../limiter/limiter-policy.js';
import type { RedisConnection } from '../stores/redis-connection.js';
import type { EvictionCheckOptions } from '../stores/redis-eviction-check.js';
import type { SubjectResolver } from './caller.interface.js';
import type { TokenStore } from './token-store.interface.js';

/** Options of `IdempotencyModule.forRoot()` / `forRootAsync()`. Durations say their unit. */
export interface IdempotencyModuleOptions {
  /** Key for the tokens' HMAC-SHA256 signature; at least 32 characters, shared by every instance. */
  secret: string;
  /**
   * The Redis store's Redis. Either a Redis or Cluster client, which stays yours to configure
   * and close (give it `enableOfflineQueue: false` and a `commandTimeout` so that an outage
   * answers 503 at once); or how to connect (`redis://…` URL, ioredis options, or
   * `{ cluster: nodes, options? }`), and the module makes the client with fail-fast settings and
   * closes it when the app stops.
   */
  redis?: Redis | Cluster | RedisConnection;
  /**
   * That Redis must not evict keys: with a `maxmemory-policy` other than `noeviction` it may drop
   * stored outcomes, and copies of a finished request would be told that nothing ran. The policy
   * is read when the app starts and on every reconnect (on every master of a Cluster); a Redis
   * that hides `CONFIG` is logged as unreadable. Default: refuse to start under
   * `NODE_ENV=production`, else warn.
   */
  evictionCheck?: EvictionCheckOptions;
  /**
   * Replicas that must hold a first use's claim before its handler runs (Redis `WAIT`, on a
   * Cluster the claim's shard): Redis replicates asynchronously, and a claim the primary loses in
   * a failover would let a copy run the handler again. A claim they do not acknowledge within
   * `replicaTimeoutMs` is undone and answered 503 (the client sends again with the same token).
   * Outcomes are waited for too; one not acknowledged is answered, logged and written again until
   * the lease ends (after a failover, on the promoted primary). Needs the Redis store. Default 0.
   */
  minReplicas?: number;
  /** How long a claim waits for `minReplicas`, in ms; below the client's `commandTimeout`. Default 500. */
  replicaTimeoutMs?: number;
  /** Any other {@link TokenStore}; wins over `redis`. Neither: the in-memory store (not under `NODE_ENV=production`). */
  store?: TokenStore;
  /** Redis key prefix. Default `idem:`. */
  keyPrefix?: string;
  /** Lifetime of a token when `GET /tokens` asks for none, in seconds. Default 900. */
  tokenTtlSeconds?: number;
  /** Longest lifetime `GET /tokens?ttl=` may ask for, in seconds. Default 86400. */
  maxTokenTtlSeconds?: number;
  /** Most tokens one `GET /tokens?count=` may ask for (all or none under the limiter). Default 20. */
  maxBatch?: number;
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
  /**
   * Answer headers kept and sent again with a replay (a handler's `replayHeaders` wins).
   * Default `['content-type', 'location']`. `Set-Cookie` and hop-by-hop headers are refused.
   */
  replayHeaders?: string[];
  /** Who a token is bound to. Default: `request.user.id`, else `request.user.sub`. */
  resolveSubject?: SubjectResolver;
}
