import type { StoredResponse } from '../outcomes/stored-response.js';

/**
 * Thrown by the interceptor to answer a copy with the first request's stored answer; the
 * `IdempotencyRefusalFilter` that `@Idempotent()` installs sends it as it was.
 *
 * Not an `Error`: a replay is an answer, not a failure, and the stack trace an `Error` captures
 * cost a few per cent of a replay's CPU (docs/PERFORMANCE.md). Thrown rather than returned so
 * that the app's interceptors cannot map the answer a second time.
 */
export class ReplayException {
  readonly message = 'Replay of a stored answer';

  constructor(readonly response: StoredResponse) {}
}
