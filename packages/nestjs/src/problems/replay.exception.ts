import type { StoredResponse } from '../outcomes/stored-response.js';

/**
 * Thrown by the interceptor to answer a copy with the first request's stored answer; the
 * `IdempotencyRefusalFilter` that `@Idempotent()` installs sends it as it was.
 */
export class ReplayException extends Error {
  constructor(readonly response: StoredResponse) {
    super('Replay of a stored answer');
  }
}
