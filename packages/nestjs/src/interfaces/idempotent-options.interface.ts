import type { Type } from '@nestjs/common';
import type { IdempotencyInterceptor } from '../idempotency.interceptor.js';

/**
 * Options of `@Idempotent()` on an HTTP route. On a message handler it takes
 * `IdempotentMessageOptions` instead (`key`, `leaseSeconds`, `afterCrash`, `noAck`).
 */
export interface IdempotentOptions {
  /**
   * The scope a token must have been issued for (`GET /tokens?scope=…`). A handler without a
   * scope accepts only tokens issued without one. Same syntax as the query parameter.
   */
  scope?: string;
  /**
   * How a request says which request it is: `token` (the default) a one-time token from
   * `GET /tokens` in `Idempotency-Token`; `client` a key the client chose, in `Idempotency-Key`
   * (the IETF draft's header; for callers that cannot fetch a token first); `either` one or the
   * other. Keys are bound to the caller and the scope, and their first uses count in the
   * caller's rate window like issued tokens.
   */
  keys?: 'token' | 'client' | 'either';
  /**
   * Token rotation: a first use whose request says `Prefer: next-token` gets a fresh token for
   * the same caller and scope in `Idempotency-Token-Next` (with `Preference-Applied:
   * next-token`), issued in the same store call as the consume and counted by the limiter;
   * replays carry the same one. Refused by the limiter, both headers are left out. Token
   * requests only (a client key needs no next one).
   */
  rotate?: boolean;
  /**
   * Whether a copy of a finished request gets the first answer again (`true`, the default) or
   * `409 TOKEN_USED` (`false`: for answers that must not be handed out twice).
   */
  replay?: boolean;
  /**
   * The answer headers kept and sent again with a replay, replacing the module's
   * `replayHeaders` for this handler. `Set-Cookie` and hop-by-hop headers are refused.
   */
  replayHeaders?: string[];
  /** A subclass of `IdempotencyInterceptor` with your own `getCaller()` or `getFingerprint()`. */
  interceptor?: Type<IdempotencyInterceptor>;
}
