/** `@idempotency-tokens/client`: the token layer for `fetch`, and a typed client over it. */
export { createIdempotentClient, type IdempotentClientOptions } from './idempotent-client.js';
export { type IdempotentOperation, type IdempotentOperations, operationMatcher } from './operations.js';
export { type IdempotencyLayerOptions, withIdempotency } from './token-layer.js';
