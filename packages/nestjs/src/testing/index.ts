/** `@idempotency-tokens/nestjs/testing`: helpers for testing apps that use the module, and custom stores. */
export { IdempotencyTestingModule, TESTING_SECRET } from './idempotency-testing.module.js';
export { issueToken } from './issue-token.js';
export { type ContractCase, tokenStoreContract } from './token-store.contract.js';
export { unissuedToken } from './unissued-token.js';
export { MemoryTokenStore } from '../stores/memory-token.store.js';
