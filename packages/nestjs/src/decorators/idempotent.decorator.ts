import { applyDecorators, SetMetadata, UseFilters, UseInterceptors } from '@nestjs/common';
import { IdempotencyInterceptor } from '../idempotency.interceptor.js';
import { IDEMPOTENT_METADATA, SCOPE_PATTERN } from '../idempotency.constants.js';
import type { IdempotentOptions } from '../interfaces/idempotent-options.interface.js';
import type { IdempotentMessageOptions } from '../interfaces/message-options.interface.js';
import { IdempotentMessageInterceptor } from '../messages/idempotent-message.interceptor.js';
import { messageRunSettings } from '../messages/run-once.js';
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
export function Idempotent(options?: IdempotentOptions): MethodDecorator & ClassDecorator;
/**
 * Makes a Nest microservice handler (`@EventPattern`, `@MessagePattern`, any transport) run at
 * most once per message id, which `key` reads from the message: redeliveries and copies are
 * settled without running it (see `IdempotentMessageOptions`). Backed by `runOnce()` on the
 * module's store.
 *
 * @throws Error at start-up for malformed options.
 */
export function Idempotent(options: IdempotentMessageOptions): MethodDecorator & ClassDecorator;
export function Idempotent(
  options: IdempotentOptions | IdempotentMessageOptions = {},
): MethodDecorator & ClassDecorator {
  if ('key' in options) return IdempotentMessage(options);
  if (options.scope !== undefined && !SCOPE_PATTERN.test(options.scope)) {
    throw new Error(
      `@Idempotent(): scope ${JSON.stringify(options.scope)} must match ${SCOPE_PATTERN}`,
    );
  }
  const keys = options.keys ?? 'token';
  if (!['token', 'client', 'either'].includes(keys))
    throw new Error(
      `@Idempotent(): keys must be 'token', 'client' or 'either' (got ${JSON.stringify(keys)})`,
    );
  const replay = options.replay ?? true;
  const replayHeaders =
    options.replayHeaders && replayHeaderList(options.replayHeaders, '@Idempotent() replayHeaders');
  return applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, {
      scope: options.scope,
      keys,
      rotate: options.rotate ?? false,
      replay,
      replayHeaders,
    }),
    UseInterceptors(options.interceptor ?? IdempotencyInterceptor),
    UseFilters(IdempotencyRefusalFilter),
    ApiIdempotent(options.scope, replay, keys, options.rotate ?? false),
  );
}

function IdempotentMessage(options: IdempotentMessageOptions): MethodDecorator & ClassDecorator {
  if (typeof options.key !== 'function')
    throw new Error('@Idempotent(): key must be a function (data, context) => the message id');
  messageRunSettings(options, '@Idempotent()');
  return applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, options),
    UseInterceptors(IdempotentMessageInterceptor),
  );
}
