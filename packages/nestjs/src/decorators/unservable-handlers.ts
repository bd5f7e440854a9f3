import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { IDEMPOTENT_METADATA } from '../idempotency.constants.js';
import { idempotencyOf } from './idempotent-route.js';

/** Nest's microservice handlers (`@MessagePattern`, `@EventPattern`) carry this. */
const MESSAGE_PATTERN_METADATA = 'microservices:pattern';

/**
 * Every `@Idempotent()` the module cannot serve, as `Class.method`: one on a provider (a GraphQL
 * resolver, a WebSocket gateway), and one on a controller method that is not an HTTP route (a
 * message handler). Such a handler would otherwise fail only when called.
 */
export function unservableHandlers(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
): string[] {
  const found: string[] = [];
  for (const { metatype, instance } of discovery.getProviders()) {
    if (!metatype || !instance || typeof instance !== 'object') continue;
    if (Reflect.getMetadata(IDEMPOTENT_METADATA, metatype)) found.push(metatype.name);
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      if (Reflect.getMetadata(IDEMPOTENT_METADATA, prototype[name] as object))
        found.push(`${metatype.name}.${name}`);
    }
  }
  for (const { metatype, instance } of discovery.getControllers()) {
    if (!metatype || !instance) continue;
    const prototype = Object.getPrototypeOf(instance) as Record<string, () => unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name];
      const covered = Reflect.getMetadata(IDEMPOTENT_METADATA, handler)
        ? true
        : Reflect.getMetadata(MESSAGE_PATTERN_METADATA, handler) !== undefined &&
          idempotencyOf(handler, metatype);
      if (covered && Reflect.getMetadata(PATH_METADATA, handler) === undefined)
        found.push(`${metatype.name}.${name}`);
    }
  }
  return found;
}
