import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import { type IdempotencyLayerOptions, withIdempotency } from './token-layer.js';

export interface IdempotentClientOptions extends Omit<ClientOptions, 'fetch'>, IdempotencyLayerOptions {}

/**
 * A typed client (openapi-fetch over the generated `paths`) whose `fetch` is wrapped by
 * {@link withIdempotency}: `api.POST('/orders', { body })` fetches the token, resends lost
 * answers with it and waits out requests in progress, as the contract says.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- openapi-fetch's own constraint on `paths`
export function createIdempotentClient<Paths extends {}>(options: IdempotentClientOptions): Client<Paths> {
  const { operations, fetch, maxInProgressRetries, maxLostAnswerRetries, retryDelayMs, timeoutMs, prefetch, ...clientOptions } = options;
  const layered = withIdempotency({ operations, baseUrl: options.baseUrl, fetch, maxInProgressRetries, maxLostAnswerRetries, retryDelayMs, timeoutMs, prefetch });
  return createClient<Paths>({ ...clientOptions, fetch: (request: Request) => layered(request) });
}
