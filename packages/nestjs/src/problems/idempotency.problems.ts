import { IdempotencyRefusal } from './idempotency-refusal.js';

/**
 * The answers of the token service and the interceptor. Each detail tells a client what to do next,
 * since that is the whole point of the contract (the contract's "what a client does with each answer").
 */
const FRESH_TOKEN = 'Nothing ran: fetch a fresh token from GET /tokens and send the request again.';

export const tokenMissing = () =>
  new IdempotencyRefusal({
    status: 400,
    code: 'TOKEN_MISSING',
    title: 'Idempotency token missing',
    detail: `This operation needs an Idempotency-Token header. ${FRESH_TOKEN}`,
  });

export const tokenInvalid = () =>
  new IdempotencyRefusal({
    status: 400,
    code: 'TOKEN_INVALID',
    title: 'Idempotency token invalid',
    detail: `The Idempotency-Token header is not a token this service issued. ${FRESH_TOKEN}`,
  });

export const tokenUnknown = () =>
  new IdempotencyRefusal({
    status: 400,
    code: 'TOKEN_UNKNOWN',
    title: 'Idempotency token unknown',
    detail: `The token was never issued to you for this operation, or it expired. ${FRESH_TOKEN}`,
  });

/** Not a leak: whether the caller was authenticated is the caller's own business. */
export const tokenIssuedToOtherKindOfCaller = (callerAuthenticated: boolean) =>
  new IdempotencyRefusal({
    status: 400,
    code: 'TOKEN_UNKNOWN',
    title: 'Idempotency token unknown',
    detail: callerAuthenticated
      ? `The token was issued to an anonymous caller, and this request is authenticated: fetch tokens with the same authentication as the requests that use them (is the token endpoint behind your auth guard?). ${FRESH_TOKEN}`
      : `The token was issued to an authenticated caller, and this request is anonymous: send the same authentication with the request as when the token was fetched. ${FRESH_TOKEN}`,
  });

/** What a client sends to say which request it means: a server-issued token or its own key. */
export type Credential = 'token' | 'key';

export const requestInProgress = (retryAfterSeconds: number, credential: Credential = 'token') =>
  new IdempotencyRefusal({
    status: 409,
    code: 'REQUEST_IN_PROGRESS',
    title: 'Request in progress',
    retryAfterSeconds,
    detail: `A request with this ${credential} is still running. Wait Retry-After seconds and send the same request with the same ${credential} to learn its outcome.`,
  });

export const tokenUsed = (credential: Credential = 'token') =>
  new IdempotencyRefusal({
    status: 409,
    code: 'TOKEN_USED',
    title: `Idempotency ${credential} already used`,
    detail: `A request with this ${credential} was already processed; its answer cannot be sent again. Do not resend it.`,
  });

export const payloadMismatch = (credential: Credential = 'token') =>
  new IdempotencyRefusal({
    status: 422,
    code: 'PAYLOAD_MISMATCH',
    title: `${credential === 'token' ? 'Token' : 'Key'} used for another request`,
    detail:
      credential === 'token'
        ? 'This token was used by a request with another method, path or body. Use a fresh token for a new request.'
        : 'This Idempotency-Key was used by a request with another method, path or body. Choose a new key for a new request.',
  });

const NEW_KEY =
  'Nothing ran: send the request again with an Idempotency-Key header of 8 to 255 visible ASCII characters (a UUID is a good choice), the same key for every retry of one request.';

export const idempotencyKeyMissing = () =>
  new IdempotencyRefusal({
    status: 400,
    code: 'IDEMPOTENCY_KEY_MISSING',
    title: 'Idempotency key missing',
    detail: `This operation needs an Idempotency-Key header. ${NEW_KEY}`,
  });

export const idempotencyKeyInvalid = (why: string) =>
  new IdempotencyRefusal({
    status: 400,
    code: 'IDEMPOTENCY_KEY_INVALID',
    title: 'Idempotency key invalid',
    detail: `${why} ${NEW_KEY}`,
  });

export const keyRateLimited = (retryAfterSeconds: number, headers: Record<string, string>) =>
  new IdempotencyRefusal({
    status: 429,
    code: 'KEY_RATE_LIMITED',
    title: 'Too many new idempotency keys',
    retryAfterSeconds,
    headers,
    detail: `You used as many new Idempotency-Keys as the rate limit allows; nothing ran and nothing was stored. Send the request again, with the same key, after ${retryAfterSeconds} s (Retry-After).`,
  });

/** Long enough for a reconnect attempt, short enough that clients come back soon. */
const STORE_RETRY_AFTER_SECONDS = 2;

/** `extensions`: e.g. the health checks that found the store down. */
export const storeUnavailable = (extensions?: Record<string, unknown>) =>
  new IdempotencyRefusal({
    status: 503,
    code: 'STORE_UNAVAILABLE',
    title: 'Token store unavailable',
    retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
    extensions,
    detail:
      'The token store cannot be reached; nothing was consumed and nothing ran. Retry after Retry-After seconds.',
  });

/** A validation answer stays small enough to be kept and replayed, whatever the body was. */
export const MAX_LISTED_ERRORS = 20;
const MAX_ERROR_LENGTH = 200;

/**
 * `errors`: the violations in order; only the first {@link MAX_LISTED_ERRORS} are listed.
 * `total`: how many there were, when the caller stopped collecting them early (a body with
 * 100 000 unknown keys need not cost 100 000 messages to say so).
 */
export const validationFailed = (
  detail: string,
  errors?: string[],
  total = errors?.length ?? 0,
) => {
  const listed = errors?.slice(0, MAX_LISTED_ERRORS);
  return new IdempotencyRefusal({
    status: 400,
    code: 'VALIDATION_FAILED',
    title: 'Validation failed',
    detail:
      listed && total > listed.length
        ? `${detail.replace(/\.$/, '')} (the first ${listed.length} of ${total} listed).`
        : detail,
    extensions: listed && {
      errors: listed.map((error) =>
        error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH - 1)}…` : error,
      ),
    },
  });
};

export const malformedRequest = (detail: string) =>
  new IdempotencyRefusal({
    status: 400,
    code: 'MALFORMED_REQUEST',
    title: 'Malformed request',
    detail,
  });

export const payloadTooLarge = () =>
  new IdempotencyRefusal({
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    title: 'Payload too large',
    detail: 'The request body is over the size limit. Nothing was consumed.',
  });

export const tokenRateLimited = (retryAfterSeconds: number, headers: Record<string, string>) =>
  new IdempotencyRefusal({
    status: 429,
    code: 'TOKEN_RATE_LIMITED',
    title: 'Too many tokens requested',
    retryAfterSeconds,
    headers,
    detail: `You fetched as many tokens as the rate limit allows. Fetch the next one after ${retryAfterSeconds} s (Retry-After).`,
  });

export const tokenQuotaExceeded = (retryAfterSeconds: number, headers: Record<string, string>) =>
  new IdempotencyRefusal({
    status: 429,
    code: 'TOKEN_QUOTA_EXCEEDED',
    title: 'Too many unused tokens',
    retryAfterSeconds,
    headers,
    detail: `You hold as many unused tokens as allowed. Use one, or fetch after ${retryAfterSeconds} s (Retry-After) when the soonest expires.`,
  });

export const methodNotAllowed = (allowed: string[]) =>
  new IdempotencyRefusal({
    status: 405,
    code: 'METHOD_NOT_ALLOWED',
    title: 'Method not allowed',
    detail: `This endpoint answers ${allowed.join(', ')} only.`,
    headers: { Allow: allowed.join(', ') },
  });

/** The HTTP layer's own refusals, answered before any route runs: nothing was consumed. */
export const headersTooLarge = () =>
  new IdempotencyRefusal({
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    title: 'Request headers too large',
    detail: 'The request headers are too many or too large. Nothing ran.',
  });

export const badRequest = (detail: string) =>
  new IdempotencyRefusal({
    status: 400,
    code: 'BAD_REQUEST',
    title: 'Bad request',
    detail: `${detail} Nothing ran.`,
  });

export const requestTimeout = () =>
  new IdempotencyRefusal({
    status: 408,
    code: 'REQUEST_TIMEOUT',
    title: 'Request timeout',
    detail: 'The request did not arrive in time. Nothing ran: send it again.',
  });
