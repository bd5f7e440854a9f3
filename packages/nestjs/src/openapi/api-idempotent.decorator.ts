import { PATH_METADATA } from '@nestjs/common/constants.js';
import { idempotencyOf } from '../decorators/idempotent-route.js';
import { IDEMPOTENT_METADATA } from '../idempotency.constants.js';
import { OpenApi, type SwaggerApi } from './openapi-decorator.js';
import type { HeaderName } from './answer-docs.js';
import { problemResponse } from './problem-response.js';
import { successResponses } from './success-response.js';

type Keys = 'token' | 'client' | 'either';

/** `x-idempotency`: what a generated client must send. `key` is left out on token routes (`none`). */
function idempotencyExtension(
  scope: string | undefined,
  replay: boolean,
  keys: Keys,
  rotate: boolean,
) {
  const token = { token: 'required', client: 'none', either: 'optional' }[keys];
  const key = { token: undefined, client: 'required', either: 'optional' }[keys];
  return { token, ...(key && { key }), scope: scope ?? null, replay, ...(rotate && { rotate }) };
}

/** Swagger's decorators for one idempotent operation. */
function operationDecorators(
  swagger: SwaggerApi,
  scope: string | undefined,
  replay: boolean,
  keys: Keys,
  rotate: boolean,
): MethodDecorator[] {
  const usesToken = keys !== 'client';
  const usesKey = keys !== 'token';
  const either = keys === 'either';
  const consumed: HeaderName[] = usesToken ? ['Idempotency-Token-Consumed'] : [];
  const expires: HeaderName[] = usesKey ? ['Idempotency-Key-Expires'] : [];
  // What the first use answers, and with replay on, what copies get again.
  const outcome: HeaderName[] = [
    ...consumed,
    ...(replay ? (['Idempotent-Replayed'] as const) : []),
    ...expires,
  ];
  const rotation: HeaderName[] = rotate ? ['Idempotency-Token-Next', 'Preference-Applied'] : [];
  const used = { token: 'token', client: 'key', either: 'token or key' }[keys];
  const retry = {
    token: 'fetch a fresh token if needed and send again',
    client: 'send again with a valid Idempotency-Key',
    either: 'send again with a fresh token or a valid key',
  }[keys];
  const badRequestCodes = [
    ...(usesToken ? ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_UNKNOWN'] : []),
    ...(usesKey ? ['IDEMPOTENCY_KEY_MISSING', 'IDEMPOTENCY_KEY_INVALID'] : []),
    'MALFORMED_REQUEST',
    'VALIDATION_FAILED',
  ];
  return [
    ...(usesToken
      ? [
          swagger.ApiHeader({
            name: 'Idempotency-Token',
            required: !either,
            description: `A one-time token from GET /tokens${scope ? `?scope=${scope}` : ' (without a scope)'}. Send the same token again only to learn the outcome of a request that got no answer.${either ? ' Either this or Idempotency-Key, not both.' : ''}`,
            schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{22,255}$' },
          }),
        ]
      : []),
    ...(usesKey
      ? [
          swagger.ApiHeader({
            name: 'Idempotency-Key',
            required: !either,
            description: `A key you choose for this request (a UUID v4 is a good choice), bound to you${scope ? ` and scope ${scope}` : ''}: send the same key on every retry of the request, a new one for a new request. 8 to 255 visible ASCII characters, bare or as a Structured Field string ("…", the IETF draft's form; the two are the same key).${either ? ' Either this or Idempotency-Token, not both.' : ''}`,
            schema: { type: 'string', minLength: 8, maxLength: 512 },
          }),
        ]
      : []),
    ...(rotate
      ? [
          swagger.ApiHeader({
            name: 'Prefer',
            required: false,
            description:
              'next-token: the answer of a first use carries a fresh token for the next request in Idempotency-Token-Next (counted by the limiter; left out when it refuses)',
            schema: { type: 'string', example: 'next-token' },
          }),
        ]
      : []),
    swagger.ApiExtension('x-idempotency', idempotencyExtension(scope, replay, keys, rotate)),
    successResponses(
      swagger,
      replay
        ? "The handler's answer; copies of a finished request get it again with Idempotent-Replayed: true"
        : "The handler's answer; copies of a finished request get 409 TOKEN_USED",
      [...outcome, ...rotation],
    ),
    problemResponse(
      swagger,
      400,
      `${badRequestCodes.slice(0, -1).join(', ')}: nothing ran, ${retry}. VALIDATION_FAILED: the ${used} was used${replay ? ' (and the answer is replayed to copies)' : ''}.`,
      badRequestCodes,
      outcome,
    ),
    problemResponse(
      swagger,
      409,
      `REQUEST_IN_PROGRESS: wait Retry-After and send the same request with the same ${used}. TOKEN_USED: already processed, do not resend.`,
      ['REQUEST_IN_PROGRESS', 'TOKEN_USED'],
      ['Retry-After', ...consumed, ...expires],
    ),
    problemResponse(
      swagger,
      413,
      `The body is over the app's size limit; the ${used} was not used.`,
      ['PAYLOAD_TOO_LARGE'],
    ),
    problemResponse(
      swagger,
      415,
      `The body's Content-Type is not one the app reads (JSON); the ${used} was not used.`,
      ['UNSUPPORTED_MEDIA_TYPE'],
    ),
    problemResponse(
      swagger,
      422,
      `The ${used} was used by a request with another method, path or body.`,
      ['PAYLOAD_MISMATCH'],
      [...consumed, ...expires],
    ),
    ...(usesKey
      ? [
          problemResponse(
            swagger,
            429,
            'KEY_RATE_LIMITED: you used as many new keys as your rate window allows; nothing ran or was stored. Send the same request with the same key after Retry-After.',
            ['KEY_RATE_LIMITED'],
            ['Retry-After', 'RateLimit-Policy', 'RateLimit', ...expires],
          ),
        ]
      : []),
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
export function ApiIdempotent(
  scope: string | undefined,
  replay: boolean,
  keys: Keys = 'token',
  rotate = false,
) {
  return OpenApi((swagger) => {
    const decorators = operationDecorators(swagger, scope, replay, keys, rotate);
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
