import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** Marks a handler that takes `@IdempotencyKey()`: only those pay for the digest. */
export const DOWNSTREAM_KEY_METADATA = 'idempotency_module:downstream_key';

/** The downstream key of each first use whose handler asked for one (set by the interceptor). */
const downstreamKeys = new WeakMap<object, string>();

/** Called by the interceptor on a first use, before the handler runs. */
export function rememberDownstreamKey(request: object, key: string): void {
  downstreamKeys.set(request, key);
}

const downstreamKeyParameter = createParamDecorator((_: unknown, context: ExecutionContext) => {
  const key = downstreamKeys.get(context.switchToHttp().getRequest<object>());
  if (key === undefined)
    throw new Error('@IdempotencyKey() is only given to a handler that @Idempotent() guards');
  return key;
});

/**
 * The request's downstream key: a UUID (version 8) derived from its token or client key by a
 * keyed digest, never the token itself, and the same for every copy of the request. Pass it on
 * as the next system's idempotency key (a payment provider's `Idempotency-Key`) or store it in
 * a unique column, so that a second run, if one ever happened, is refused there too.
 */
export const IdempotencyKey =
  (): ParameterDecorator =>
  (target: object, method: string | symbol | undefined, index: number) => {
    downstreamKeyParameter()(target, method, index);
    const handler = (target as Record<string | symbol, object>)[method!];
    Reflect.defineMetadata(DOWNSTREAM_KEY_METADATA, true, handler);
  };
