import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { IDEMPOTENT_METADATA } from '../idempotency.constants.js';
import { DOWNSTREAM_KEY_METADATA } from './idempotency-key.decorator.js';
import { idempotencyOf } from './idempotent-route.js';

/** Nest's microservice handlers (`@MessagePattern`, `@EventPattern`) carry this. */
const MESSAGE_PATTERN_METADATA = 'microservices:pattern';

/**
 * Every `@Idempotent()` the module cannot serve, as `Class.method` and why: one on a provider (a
 * GraphQL resolver, a WebSocket gateway), one with a message `key` on an HTTP route, one without
 * a `key` on a message handler (it has no token to consume), one on a controller method that is
 * neither, and an `@IdempotencyKey()` on a handler that no `@Idempotent()` route guards. Such a handler would otherwise fail only when called.
 */
export function unservableHandlers(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
): string[] {
  const found: string[] = [];
  for (const { metatype, instance } of discovery.getProviders()) {
    if (!metatype || !instance || typeof instance !== 'object') continue;
    const onProvider = `is on a provider: the module serves controllers' HTTP routes and message handlers only`;
    if (Reflect.getMetadata(IDEMPOTENT_METADATA, metatype))
      found.push(`${metatype.name} ${onProvider}`);
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      if (Reflect.getMetadata(IDEMPOTENT_METADATA, prototype[name] as object))
        found.push(`${metatype.name}.${name} ${onProvider}`);
    }
  }
  for (const { metatype, instance } of discovery.getControllers()) {
    if (!metatype || !instance) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, () => unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const why = whyUnservable(prototype[name], metatype);
      if (why) found.push(`${metatype.name}.${name} ${why}`);
    }
  }
  return found;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any handler or class
function whyUnservable(handler: Function, type: Function): string | undefined {
  const isRoute = Reflect.getMetadata(PATH_METADATA, handler) !== undefined;
  const isMessage = Reflect.getMetadata(MESSAGE_PATTERN_METADATA, handler) !== undefined;
  const covering = isRoute || isMessage ? idempotencyOf(handler, type) : undefined;
  const hasKey = covering !== undefined && 'key' in covering;
  if (isRoute && hasKey)
    return 'is an HTTP route with a message `key`: routes take tokens, drop the `key`';
  if (isMessage && covering && !hasKey)
    return 'is a message handler without a `key`: give @Idempotent({ key: (data, context) => messageId })';
  if (!isRoute && !isMessage && Reflect.getMetadata(IDEMPOTENT_METADATA, handler))
    return 'is neither an HTTP route nor a message handler';
  if (Reflect.getMetadata(DOWNSTREAM_KEY_METADATA, handler) && (!isRoute || !covering))
    return 'takes @IdempotencyKey() but is no HTTP route that @Idempotent() guards';
  return undefined;
}
