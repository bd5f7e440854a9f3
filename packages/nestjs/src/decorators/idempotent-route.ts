import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA } from '@nestjs/common/constants.js';
import { IDEMPOTENT_METADATA } from '../idempotency.constants.js';

/** What `@Idempotent()` writes, or `false` for `@SkipIdempotency()`. */
export interface IdempotentMetadata {
  scope?: string;
  keys: 'token' | 'client' | 'either';
  rotate: boolean;
  replay: boolean;
  /** Lower case; `undefined`: the module's list. */
  replayHeaders?: string[];
}

const SAFE_METHODS = new Set([RequestMethod.GET, RequestMethod.HEAD, RequestMethod.OPTIONS]);

/**
 * The `@Idempotent()` settings that cover a handler: its own, else its class's unless it is a
 * `GET`, `HEAD` or `OPTIONS` route (safe methods need no token); `undefined` when none, or when
 * `@SkipIdempotency()` exempts it. The interceptor, the OpenAPI decoration and the start-up check all
 * decide with this one function.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any handler or class
export function idempotencyOf(handler: Function, type: Function): IdempotentMetadata | undefined {
  const own = Reflect.getMetadata(IDEMPOTENT_METADATA, handler) as
    IdempotentMetadata | false | undefined;
  if (own !== undefined) return own || undefined;
  const inherited = Reflect.getMetadata(IDEMPOTENT_METADATA, type) as
    IdempotentMetadata | undefined;
  const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
  return inherited && !SAFE_METHODS.has(method!) ? inherited : undefined;
}
