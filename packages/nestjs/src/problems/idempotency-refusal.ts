import { ProblemException } from './problem.exception.js';

/**
 * A problem the module itself answers with (`TOKEN_*`, `REQUEST_IN_PROGRESS`,
 * `PAYLOAD_MISMATCH`, `STORE_UNAVAILABLE`, the limiter's 429s, …). Its own class, so that the
 * filter `@Idempotent()` installs catches exactly these and leaves every other error, the app's
 * own `ProblemException`s included, to the app's filters.
 */
export class IdempotencyRefusal extends ProblemException {}
