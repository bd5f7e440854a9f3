import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import { idempotentOperations } from './idempotent-operations.js';
import type { paths } from './schema.js';

export interface IdempotentClientOptions extends ClientOptions {
  /** How often to ask again while the first request is in progress. Default 30. */
  maxInProgressRetries?: number;
}

const TOKEN_HEADER = 'Idempotency-Token';
/** Nothing ran for these: a fresh token may be fetched and the request sent again, once. */
const FRESH_TOKEN_CODES = new Set(['TOKEN_UNKNOWN', 'TOKEN_INVALID']);

/**
 * A typed client (openapi-fetch over the generated `paths`) that follows the token contract for
 * every operation whose OpenAPI `x-idempotency` says it needs a token:
 * - fetches a token (with the operation's scope) before sending, unless the caller gave one;
 * - on `409 REQUEST_IN_PROGRESS` waits `Retry-After` and sends the same request with the same
 *   token, to learn the first request's outcome;
 * - on `400 TOKEN_UNKNOWN` / `TOKEN_INVALID` fetches a fresh token once and sends again;
 * - never sends again after an answer for which the token was consumed.
 */
export function createIdempotentClient(options: IdempotentClientOptions): Client<paths> {
  const client = createClient<paths>(options);
  client.use(idempotencyMiddleware(options));
  return client;
}

function idempotencyMiddleware({ baseUrl = '', fetch: fetchImpl = globalThis.fetch, maxInProgressRetries = 30 }: IdempotentClientOptions): Middleware {
  /** The request as first sent, body unread, so it can be sent again. */
  const originals = new Map<string, Request>();

  async function fetchToken(request: Request, scope: string | null): Promise<string> {
    const url = new URL(`${baseUrl.replace(/\/$/, '')}/tokens`);
    if (scope) url.searchParams.set('scope', scope);
    const authorization = request.headers.get('authorization');
    const response = await fetchImpl(new Request(url, { headers: authorization ? { authorization } : {} }));
    if (!response.ok) throw new Error(`GET /tokens answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  }

  const withToken = (request: Request, token: string) => {
    const copy = request.clone();
    copy.headers.set(TOKEN_HEADER, token);
    return copy;
  };

  return {
    async onRequest({ request, schemaPath, id }) {
      const operation = idempotentOperations[`${request.method} ${schemaPath}`];
      if (!operation) return undefined;
      const prepared = request.headers.has(TOKEN_HEADER) ? request : withToken(request, await fetchToken(request, operation.scope));
      originals.set(id, prepared.clone());
      return prepared;
    },

    async onResponse({ response, schemaPath, id }) {
      const original = originals.get(id);
      originals.delete(id);
      if (!original) return undefined;
      const operation = idempotentOperations[`${original.method} ${schemaPath}`]!;
      let current = response;
      let request = original;
      let freshTokenFetched = false;
      for (let attempt = 0; attempt <= maxInProgressRetries; attempt++) {
        const code = await problemCode(current);
        if (code === 'REQUEST_IN_PROGRESS' && attempt < maxInProgressRetries) {
          await sleep(Number(current.headers.get('retry-after') ?? '1') * 1000);
        } else if (code !== undefined && FRESH_TOKEN_CODES.has(code) && !freshTokenFetched) {
          freshTokenFetched = true;
          request = withToken(original, await fetchToken(original, operation.scope));
        } else {
          return current;
        }
        current = await fetchImpl(request.clone());
      }
      return current;
    },
  };
}

/** The `code` of a problem details answer, read from a clone so the caller can still read the body. */
async function problemCode(response: Response): Promise<string | undefined> {
  if (!response.headers.get('content-type')?.startsWith('application/problem+json')) return undefined;
  const body = (await response.clone().json()) as { code?: unknown };
  return typeof body.code === 'string' ? body.code : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
