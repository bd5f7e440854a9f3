export { createIdempotentClient, type IdempotentClientOptions } from './idempotent-client.js';
export { idempotentOperations } from './idempotent-operations.js';
export type { components, operations, paths } from './schema.js';
