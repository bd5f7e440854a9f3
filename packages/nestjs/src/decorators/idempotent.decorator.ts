import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from '../idempotency.interceptor.js';
import { IDEMPOTENT_METADATA, SCOPE_PATTERN } from '../idempotency.constants.js';
import type { IdempotentOptions } from '../interfaces/idempotent-options.interface.js';
import { ApiIdempotent } from '../openapi/api-idempotent.decorator.js';
import { replayHeaderList } from '../outcomes/replay-headers.js';
import { IdempotencyRefusalFilter } from '../problems/idempotency-refusal.filter.js';

/**
 * Makes a handler require a one-time token in the `Idempotency-Token` header. The token is
 * deleted before the handler runs, so the handler runs at most once per token; copies get
 * `REQUEST_IN_PROGRESS`, the first answer again, `TOKEN_USED` or `PAYLOAD_MISMATCH`.
 *
 * On a controller it covers the `POST`, `PUT`, `PATCH` and `DELETE` handlers (and `@All()`);
 * `GET`, `HEAD` and `OPTIONS` handlers are left alone unless they carry it themselves, and
 * `@SkipIdempotency()` exempts one handler. A handler's own setting wins over its controller's.
 * Errors that are not the module's own go to the app's exception filters; whatever is sent is
 * what copies get again. The same call documents it all in OpenAPI (with `@nestjs/swagger`).
 *
 * @throws Error at start-up for a malformed `scope` or a header that must not be replayed.
 */
export function Idempotent(options: IdempotentOptions = {}): MethodDecorator & ClassDecorator {
  if (options.scope !== undefined && !SCOPE_PATTERN.test(options.scope)) {
    throw new Error(
      `@Idempotent(): scope ${JSON.stringify(options.scope)} must match ${SCOPE_PATTERN}`,
    );
  }
  const replay = options.replay ?? true;
  const replayHeaders =
    options.replayHeaders && replayHeaderList(options.replayHeaders, '@Idempotent() replayHeaders');
  return applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, { scope: options.scope, replay, replayHeaders }),
    UseInterceptors(options.interceptor ?? IdempotencyInterceptor),
    UseFilters(IdempotencyRefusalFilter),
    ApiIdempotent(options.scope, replay),
  );
}
