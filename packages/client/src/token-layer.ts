import { type IdempotentOperations, operationMatcher } from './operations.js';

export interface IdempotencyLayerOptions {
  /** The operations that need a token: the generated `idempotentOperations`. */
  operations: IdempotentOperations;
  /**
   * The API's base URL, absolute (`https://api.example.com/v1`) or relative to the page
   * (`/api`, `''` for the page's own origin). Operation paths and `GET /tokens` are under it.
   */
  baseUrl?: string;
  /** Sends one request. Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /** How often to ask again while the first request is in progress. Default 30. */
  maxInProgressRetries?: number;
  /** How often to resend after a lost answer (network error, time-out, 502, 503, 504). Default 3. */
  maxLostAnswerRetries?: number;
  /** First wait after a lost answer, doubled each time up to 8× (unless `Retry-After` says more). Default 500. */
  retryDelayMs?: number;
  /** An attempt with no answer after this long counts as lost. Default 30 000. */
  timeoutMs?: number;
  /**
   * Tokens to fetch at once (`GET /tokens?count=`, all or none under the server's limiter);
   * the ones not used now are kept, per caller and scope, for the next calls: an offline-first
   * form holds a few before it needs them. At most the server's `TOKEN_MAX_BATCH`. Default 1.
   */
  prefetch?: number;
}

const TOKEN_HEADER = 'Idempotency-Token';
const NEXT_TOKEN_HEADER = 'Idempotency-Token-Next';
/** Handed-on tokens kept per caller and scope: enough for a burst of calls, bounded. */
const MAX_SPARE_TOKENS = 10;
const KEY_HEADER = 'Idempotency-Key';
const CONSUMED_HEADER = 'Idempotency-Token-Consumed';
/** Nothing ran for these: one fresh token may be fetched, if no answer consumed the token. */
const FRESH_TOKEN_CODES = new Set(['TOKEN_UNKNOWN', 'TOKEN_INVALID']);
/** The answer was lost on the way, or nothing was consumed: the same token may be sent again. */
const LOST_ANSWER_STATUSES = new Set([502, 503, 504]);
const MAX_BACKOFF_FACTOR = 8;
/** Retries of a request in progress ask the server to wait this long for its answer (`Prefer: wait`). */
const IN_PROGRESS_WAIT_SECONDS = 10;

/**
 * Wraps `fetch` so that every operation the OpenAPI document marks with `x-idempotency` follows
 * the token contract; all other requests pass through untouched. Per call it:
 * - fetches a token with the operation's scope first, unless the request carries one; or, for
 *   an operation that takes a client-chosen key, makes a UUID v4 unless the request carries an
 *   `Idempotency-Key`, and sends that key on every attempt of the call;
 * - on a lost answer (network error, time-out, 502/503/504) sends the same request with the
 *   same token again, after `Retry-After` or a capped backoff, a bounded number of times, so a
 *   lost answer becomes a replay;
 * - on `409 REQUEST_IN_PROGRESS` waits `Retry-After` and asks again with the same token, with
 *   `Prefer: wait=10` so that the server answers as soon as the first request has;
 * - on `400 TOKEN_UNKNOWN` / `TOKEN_INVALID` fetches one fresh token and sends again, unless an
 *   earlier answer to this call said the token was consumed;
 * - never sends again after any other answer;
 * - on operations that rotate tokens, asks for the next one (`Prefer: next-token`) and keeps
 *   what answers hand on (`Idempotency-Token-Next`), per caller and scope, for the next call
 *   instead of fetching one.
 * Works with anything that calls `fetch`: openapi-fetch, ky, or `fetch` itself.
 */
export function withIdempotency(options: IdempotencyLayerOptions): (input: Request | string | URL, init?: RequestInit) => Promise<Response> {
  const {
    baseUrl = '', fetch: send = (request) => globalThis.fetch(request), maxInProgressRetries = 30,
    maxLostAnswerRetries = 3, retryDelayMs = 500, timeoutMs = 30_000, prefetch = 1,
  } = options;
  const operationOf = operationMatcher(options.operations);
  const base = baseUrl.replace(/\/+$/, '');
  /** Tokens answers handed on, by caller (`Authorization`) and scope; newest last. */
  const spares = new Map<string, string[]>();
  const sparesOf = (request: Request, scope: string | null) => {
    const owner = `${request.headers.get('authorization') ?? ''}\0${scope ?? ''}`;
    let list = spares.get(owner);
    if (!list) spares.set(owner, (list = []));
    return list;
  };

  /**
   * A token, or the answer of `GET /tokens` when it gave none (401, 429, 503…), to be returned
   * as the call's answer. With `prefetch`, a batch: the rest joins `spare`.
   */
  async function fetchToken(original: Request, scope: string | null, spare: string[]): Promise<string | Response> {
    const url = new URL(`${base}/tokens`, original.url);
    if (scope) url.searchParams.set('scope', scope);
    if (prefetch > 1) url.searchParams.set('count', String(prefetch));
    const authorization = original.headers.get('authorization');
    const response = await send(new Request(url, { headers: authorization ? { authorization } : {}, credentials: original.credentials, signal: original.signal }));
    if (!response.ok) return response;
    const body = (await response.json()) as { token: string } | { tokens: string[] };
    if ('token' in body) return body.token;
    spare.unshift(...body.tokens.slice(1));
    return body.tokens[0];
  }

  /**
   * One attempt: a fresh copy of the request (a body can be read once), aborted after
   * `timeoutMs`. `wait`: ask the server to hold it until the first request's answer is there.
   */
  async function attempt(request: Request, header: string, value: string, wait: boolean): Promise<Response | undefined> {
    const copy = new Request(request.clone(), { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) });
    copy.headers.set(header, value);
    if (wait) copy.headers.append('prefer', `wait=${IN_PROGRESS_WAIT_SECONDS}`);
    try {
      return await send(copy);
    } catch (error) {
      if (request.signal.aborted) throw error; // the caller gave up: not a lost answer
      return undefined;
    }
  }

  return async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname.slice(new URL(`${base}/`, request.url).pathname.length - 1);
    const operation = operationOf(request.method, path);
    if (!operation) return send(request);

    const usesKey = operation.credential === 'key';
    const header = usesKey ? KEY_HEADER : TOKEN_HEADER;
    const spare = usesKey ? [] : sparesOf(request, operation.scope);
    if (operation.rotate && !usesKey) request.headers.append('prefer', 'next-token');
    // An empty header is none, as the server sees it too.
    let token =
      request.headers.get(header) ||
      (usesKey ? globalThis.crypto.randomUUID() : (spare.pop() ?? (await fetchToken(request, operation.scope, spare))));
    if (token instanceof Response) return token;
    let consumed = false;
    let freshTokenFetched = false;
    let inProgressRetries = 0;
    let lostAnswerRetries = 0;
    for (;;) {
      const response = await attempt(request, header, token, inProgressRetries > 0);
      if (response?.headers.get(CONSUMED_HEADER) === 'true') consumed = true;
      const code = response && (await problemCode(response));
      if (!response || LOST_ANSWER_STATUSES.has(response.status)) {
        if (lostAnswerRetries >= maxLostAnswerRetries) {
          if (response) return response;
          throw new Error(`${request.method} ${request.url}: no answer after ${lostAnswerRetries + 1} attempts`);
        }
        const backoff = retryDelayMs * Math.min(2 ** lostAnswerRetries, MAX_BACKOFF_FACTOR);
        lostAnswerRetries++;
        await sleep(Math.max(backoff, retryAfterMs(response) ?? 0), request.signal);
      } else if (code === 'REQUEST_IN_PROGRESS' && inProgressRetries < maxInProgressRetries) {
        inProgressRetries++;
        await sleep(retryAfterMs(response) ?? 1000, request.signal);
      } else if (!usesKey && code !== undefined && FRESH_TOKEN_CODES.has(code) && !freshTokenFetched && !consumed) {
        freshTokenFetched = true;
        token = await fetchToken(request, operation.scope, spare);
        if (token instanceof Response) return token;
      } else {
        const next = response?.headers.get(NEXT_TOKEN_HEADER);
        if (next && !spare.includes(next) && spare.push(next) > MAX_SPARE_TOKENS) spare.shift();
        return response;
      }
    }
  };
}

/** The `code` of a problem details answer, read from a clone so the caller can still read the body. */
async function problemCode(response: Response): Promise<string | undefined> {
  if (!response.headers.get('content-type')?.startsWith('application/problem+json')) return undefined;
  const body = (await response.clone().json().catch(() => undefined)) as { code?: unknown } | undefined;
  return typeof body?.code === 'string' ? body.code : undefined;
}

/** `Retry-After` in whole seconds (the contract's form) as milliseconds; `undefined` when absent or not a number. */
function retryAfterMs(response: Response | undefined): number | undefined {
  const seconds = Number(response?.headers.get('retry-after') ?? NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}
