import { PATH_METADATA } from '@nestjs/common/constants.js';
import { idempotencyOf } from '../decorators/idempotent-route.js';
import { IDEMPOTENT_METADATA } from '../idempotency.constants.js';
import { OpenApi, type SwaggerApi } from './openapi-decorator.js';
import type { HeaderName } from './answer-docs.js';
import { problemResponse } from './problem-response.js';
import { successResponses } from './success-response.js';

/** Swagger's decorators for one idempotent operation. */
function operationDecorators(
  swagger: SwaggerApi,
  scope: string | undefined,
  replay: boolean,
): MethodDecorator[] {
  // What the first use answers, and with replay on, what copies get again.
  const outcome: HeaderName[] = replay
    ? ['Idempotency-Token-Consumed', 'Idempotent-Replayed']
    : ['Idempotency-Token-Consumed'];
  return [
    swagger.ApiHeader({
      name: 'Idempotency-Token',
      required: true,
      description: `A one-time token from GET /tokens${scope ? `?scope=${scope}` : ' (without a scope)'}. Send the same token again only to learn the outcome of a request that got no answer.`,
      schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{22,255}$' },
    }),
    swagger.ApiExtension('x-idempotency', { token: 'required', scope: scope ?? null, replay }),
    successResponses(
      swagger,
      replay
        ? "The handler's answer; copies of a finished request get it again with Idempotent-Replayed: true"
        : "The handler's answer; copies of a finished request get 409 TOKEN_USED",
      outcome,
    ),
    problemResponse(
      swagger,
      400,
      `TOKEN_MISSING, TOKEN_INVALID, TOKEN_UNKNOWN, MALFORMED_REQUEST: nothing ran, fetch a fresh token if needed and send again. VALIDATION_FAILED: the token was used${replay ? ' (and the answer is replayed to copies)' : ''}.`,
      ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_UNKNOWN', 'MALFORMED_REQUEST', 'VALIDATION_FAILED'],
      outcome,
    ),
    problemResponse(
      swagger,
      409,
      'REQUEST_IN_PROGRESS: wait Retry-After and send the same request with the same token. TOKEN_USED: already processed, do not resend.',
      ['REQUEST_IN_PROGRESS', 'TOKEN_USED'],
      ['Retry-After', 'Idempotency-Token-Consumed'],
    ),
    problemResponse(
      swagger,
      413,
      "The body is over the app's size limit; the token was not used.",
      ['PAYLOAD_TOO_LARGE'],
    ),
    problemResponse(
      swagger,
      415,
      "The body's Content-Type is not one the app reads (JSON); the token was not used.",
      ['UNSUPPORTED_MEDIA_TYPE'],
    ),
    problemResponse(
      swagger,
      422,
      'The token was used by a request with another method, path or body.',
      ['PAYLOAD_MISMATCH'],
      ['Idempotency-Token-Consumed'],
    ),
    problemResponse(
      swagger,
      503,
      'The token store is unreachable: nothing was consumed, nothing ran; retry after Retry-After.',
      ['STORE_UNAVAILABLE'],
      ['Retry-After'],
    ),
  ];
}

/**
 * The OpenAPI half of `@Idempotent()`: the required header, every answer of the contract's
 * handler table (the success answers under their exact statuses, with the token headers), and
 * `x-idempotency`, from which a generated client learns to fetch a token first. On a controller
 * it documents exactly the handlers the interceptor covers (not `GET`, not `@SkipIdempotency()`,
 * not those with a setting of their own).
 */
export function ApiIdempotent(scope: string | undefined, replay: boolean) {
  return OpenApi((swagger) => {
    const decorators = operationDecorators(swagger, scope, replay);
    const decorate = (target: object, key: string | symbol, descriptor: PropertyDescriptor) => {
      for (const decorator of decorators) decorator(target, key, descriptor);
    };
    return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
      if (key !== undefined && descriptor) return decorate(target, key, descriptor);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- a controller class
      const type = target as Function;
      const prototype = type.prototype as Record<string, object>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        const own =
          typeof handler === 'function' && Reflect.getMetadata(IDEMPOTENT_METADATA, handler);
        const route =
          typeof handler === 'function' &&
          Reflect.getMetadata(PATH_METADATA, handler) !== undefined;
        if (route && own === undefined && idempotencyOf(handler, type)) {
          decorate(prototype, name, Object.getOwnPropertyDescriptor(prototype, name)!);
        }
      }
    };
  });
}
