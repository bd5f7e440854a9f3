import {
  applyDecorators,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { IdempotencyGuard } from '../idempotency.guard.js';
import { IdempotencyInterceptor } from '../idempotency.interceptor.js';
import { ApiIdempotent } from '../openapi/api-idempotent.decorator.js';
import { IDEMPOTENT_METADATA, SCOPE_PATTERN } from '../idempotency.constants.js';
import type { IdempotentOptions } from '../interfaces/idempotent-options.interface.js';
import { ProblemDetailsFilter } from '../problems/problem-details.filter.js';

/**
 * Makes a handler (or every handler of a controller) require a one-time token in the
 * `Idempotency-Token` header. The token is deleted before the handler runs, so the handler runs
 * at most once per token; copies get `REQUEST_IN_PROGRESS`, the first answer again, `TOKEN_USED`
 * or `PAYLOAD_MISMATCH`. A handler setting overrides a controller setting. The same call
 * documents all of it in OpenAPI, so the docs cannot lag behind the behaviour.
 *
 * Unlike `@nestjs/idempotency`'s decorator (client-chosen `Idempotency-Key`), the tokens here are
 * issued by the server (`GET /tokens`), bound to the caller, and checked before any work.
 *
 * @throws Error at start-up when `scope` is not `^[A-Za-z0-9._:-]{1,64}$`.
 */
export function Idempotent(options: IdempotentOptions = {}): MethodDecorator & ClassDecorator {
  if (options.scope !== undefined && !SCOPE_PATTERN.test(options.scope)) {
    throw new Error(
      `@Idempotent(): scope ${JSON.stringify(options.scope)} must match ${SCOPE_PATTERN}`,
    );
  }
  const replay = options.replay ?? true;
  return applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, { scope: options.scope, replay }),
    UseGuards(IdempotencyGuard),
    UseInterceptors(IdempotencyInterceptor),
    UseFilters(ProblemDetailsFilter),
    ApiIdempotent(options.scope, replay),
  );
}
