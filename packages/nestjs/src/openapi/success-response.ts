// Swagger-typed helper, kept out of the published declarations of the decorators, as
// problem-response.ts is.
import { HttpStatus, RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import type { ApiResponseOptions } from '@nestjs/swagger';
import { ANSWER_HEADERS, type HeaderName } from './answer-docs.js';
import type { SwaggerApi } from './openapi-decorator.js';

/** `@nestjs/swagger`'s key for a handler's documented answers (its `DECORATORS.API_RESPONSE`, not exported). */
const API_RESPONSE_METADATA = 'swagger/apiResponse';

type Documented = Record<string, ApiResponseOptions>;

/**
 * The statuses a handler succeeds with: the 2xx answers documented on it, else the one Nest
 * sends (`@HttpCode()`, else 201 for POST and 200 for the rest), as Swagger itself assumes.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any handler
function successStatuses(handler: Function, documented: Documented): number[] {
  const statuses = Object.keys(documented)
    .map(Number)
    .filter((status) => status >= 200 && status < 300);
  if (statuses.length > 0) return statuses;
  const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
  const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
  return [code ?? (method === RequestMethod.POST ? HttpStatus.CREATED : HttpStatus.OK)];
}

/**
 * Adds `headers` to each success answer of a handler, under its exact status: tools read a
 * `2XX` range as a fallback that an exact code overrides (so the headers would be lost), and
 * several generators cannot type a range at all. What the app documented for that status
 * (description, schema, its own headers such as `Location`) is kept. Runs when the OpenAPI
 * decorations are applied, after every decorator of the class has written its metadata.
 */
export function successResponses(
  { ApiResponse }: SwaggerApi,
  description: string,
  headers: readonly HeaderName[],
) {
  const added = Object.fromEntries(headers.map((name) => [name, ANSWER_HEADERS[name]]));
  return (target: object, key: string | symbol, descriptor: PropertyDescriptor): void => {
    const handler = descriptor.value as object;
    const documented = (Reflect.getMetadata(API_RESPONSE_METADATA, handler) ?? {}) as Documented;
    // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a route handler
    for (const status of successStatuses(handler as Function, documented)) {
      const own = documented[status];
      ApiResponse({ ...own, status, description, headers: { ...own?.headers, ...added } })(
        target,
        key,
        descriptor,
      );
    }
  };
}
