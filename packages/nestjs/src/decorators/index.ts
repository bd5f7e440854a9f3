export { Idempotent } from './idempotent.decorator.js';
export { InjectTokenStore } from './inject-token-store.decorator.js';
export { SkipIdempotency } from './skip-idempotency.decorator.js';
export { IdempotencyKey } from './idempotency-key.decorator.js';
