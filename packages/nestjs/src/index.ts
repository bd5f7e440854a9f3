/** `@idempotency-tokens/nestjs`: everything an app needs, nothing it should not touch. */
export {
  Idempotent,
  IdempotencyKey,
  InjectTokenStore,
  SkipIdempotency,
} from './decorators/index.js';
export { IdempotencyInterceptor } from './idempotency.interceptor.js';
export {
  IdempotencyMetrics,
  idempotencyOutcomeOf,
  type ConsumeOutcome,
  type MessageOutcome,
  type MetricsRegistry,
} from './idempotency.metrics.js';
export { IdempotencyModule } from './idempotency.module.js';
export {
  MODULE_OPTIONS_TOKEN as IDEMPOTENCY_MODULE_OPTIONS,
  type IdempotencyModuleExtras,
  type TokenEndpointOptions,
} from './idempotency.module-definition.js';
export {
  PROBLEM_JSON,
  TOKEN_CONSUMED_HEADER,
  TOKEN_HEADER,
  REPLAYED_HEADER,
  TOKEN_STORE,
} from './idempotency.constants.js';
export type {
  Caller,
  ClaimCommand,
  ClaimResult,
  ConsumeCommand,
  IdempotencyRequest,
  ConsumeResult,
  IdempotencyModuleOptions,
  IdempotentMessageOptions,
  IdempotentOptions,
  IssueCommand,
  IssueLimits,
  IssueResult,
  KeyClaimCommand,
  KeyClaimResult,
  MessageRunOptions,
  SubjectResolver,
  TokenRef,
  TokenStore,
} from './interfaces/index.js';
export type { LimiterOptions } from './limiter/limiter-policy.js';
export { ApiProblemResponse } from './openapi/problem-response.decorator.js';
export { problemResponseObject } from './openapi/answer-docs.js';
export { IdempotencyRefusal } from './problems/idempotency-refusal.js';
export { IdempotencyRefusalFilter } from './problems/idempotency-refusal.filter.js';
export { ProblemDetailsFilter } from './problems/problem-details.filter.js';
export {
  MAX_LISTED_ERRORS,
  badRequest,
  headersTooLarge,
  methodNotAllowed,
  requestTimeout,
  storeUnavailable,
  validationFailed,
} from './problems/idempotency.problems.js';
export {
  ProblemException,
  type ProblemDetails,
  type ProblemInit,
} from './problems/problem.exception.js';
export { runOnce, type RunOnceOptions, type RunOnceResult } from './messages/run-once.js';
export { MemoryTokenStore } from './stores/memory-token.store.js';
export {
  FAIL_FAST_REDIS_OPTIONS,
  createRedisClient,
  type RedisConnection,
} from './stores/redis-connection.js';
export { RedisEvictionCheck, type EvictionCheckOptions } from './stores/redis-eviction-check.js';
export { RedisTokenStore, type RedisTokenStoreOptions } from './stores/redis-token.store.js';
export { StoreUnavailableError } from './stores/store-unavailable.error.js';
export { IssuedToken, IssuedTokens } from './tokens/issued-token.js';
export { TokensService, type Issuance } from './tokens/tokens.service.js';
