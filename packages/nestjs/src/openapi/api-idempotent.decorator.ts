import { applyDecorators } from '@nestjs/common';
import { OpenApi } from './openapi-decorator.js';
import { ANSWER_HEADERS, ApiProblemResponse } from './problem-response.decorator.js';

/**
 * The OpenAPI half of `@Idempotent()`: the required header, every answer of the contract's handler
 * table, and `x-idempotency`, from which a generated client learns to fetch a token first.
 * The handler's own success answer merges with the `2XX` entry here.
 */
export function ApiIdempotent(scope: string | undefined, replay: boolean) {
  const consumed = ['Idempotency-Token-Consumed', 'Idempotent-Replayed'] as const;
  return applyDecorators(
    OpenApi(({ ApiHeader }) =>
      ApiHeader({
        name: 'Idempotency-Token',
        required: true,
        description: `A one-time token from GET /tokens${scope ? `?scope=${scope}` : ' (without a scope)'}. Send the same token again only to learn the outcome of a request that got no answer.`,
        schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{22,255}$' },
      }),
    ),
    OpenApi(({ ApiExtension }) =>
      ApiExtension('x-idempotency', { token: 'required', scope: scope ?? null, replay }),
    ),
    OpenApi(({ ApiResponse }) =>
      ApiResponse({
        status: '2XX',
        description: replay
          ? "The handler's answer; copies of a finished request get it again with Idempotent-Replayed: true"
          : "The handler's answer; copies of a finished request get 409 TOKEN_USED",
        headers: {
          'Idempotency-Token-Consumed': ANSWER_HEADERS['Idempotency-Token-Consumed'],
          'Idempotent-Replayed': ANSWER_HEADERS['Idempotent-Replayed'],
        },
      }),
    ),
    ApiProblemResponse(
      400,
      'TOKEN_MISSING, TOKEN_INVALID, TOKEN_UNKNOWN, MALFORMED_REQUEST: nothing ran, fetch a fresh token if needed and send again. VALIDATION_FAILED: the token was used (and the answer is replayed to copies).',
      ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_UNKNOWN', 'MALFORMED_REQUEST', 'VALIDATION_FAILED'],
      [...consumed],
    ),
    ApiProblemResponse(
      409,
      'REQUEST_IN_PROGRESS: wait Retry-After and send the same request with the same token. TOKEN_USED: already processed, do not resend.',
      ['REQUEST_IN_PROGRESS', 'TOKEN_USED'],
      ['Retry-After', 'Idempotency-Token-Consumed'],
    ),
    ApiProblemResponse(413, "The body is over the app's size limit; the token was not used.", [
      'PAYLOAD_TOO_LARGE',
    ]),
    ApiProblemResponse(
      422,
      'The token was used by a request with another method, path or body.',
      ['PAYLOAD_MISMATCH'],
      ['Idempotency-Token-Consumed'],
    ),
    ApiProblemResponse(
      503,
      'The token store is unreachable: nothing was consumed, nothing ran; retry after Retry-After.',
      ['STORE_UNAVAILABLE'],
      ['Retry-After'],
    ),
  );
}
