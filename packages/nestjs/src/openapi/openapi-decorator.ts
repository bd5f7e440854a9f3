import type * as Swagger from '@nestjs/swagger';
import { importOptionalPeer } from '../optional-peer.js';

export type SwaggerApi = typeof Swagger;
/** Class, method and property decorators alike; each is called the way TypeScript called ours. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDecorator = (target: object, key: any, descriptor: any) => unknown;

/** Decorations waiting for `@nestjs/swagger`; each runs once. */
const pending: ((swagger: SwaggerApi) => void)[] = [];

/**
 * A decorator whose OpenAPI metadata is written only when `@nestjs/swagger` is installed, so
 * the module neither needs nor imports it otherwise. Decorators run when a class is defined,
 * before anything can be awaited; the metadata is written by {@link applyOpenApiDecorations},
 * which the module runs while the app is created, before any document is built.
 */
export function OpenApi(make: (swagger: SwaggerApi) => AnyDecorator) {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    pending.push((swagger) => make(swagger)(target, key, descriptor));
  };
}

/** Writes every pending OpenAPI decoration; drops them when `@nestjs/swagger` is not installed. */
export async function applyOpenApiDecorations(): Promise<void> {
  if (pending.length === 0) return;
  const swagger = await importOptionalPeer('@nestjs/swagger', () => import('@nestjs/swagger'));
  for (const decorate of pending.splice(0)) if (swagger) decorate(swagger);
}
