export type { Caller, IdempotencyRequest, SubjectResolver } from './caller.interface.js';
export type { IdempotencyModuleOptions } from './idempotency-module-options.interface.js';
export type { IdempotentOptions } from './idempotent-options.interface.js';
export type { IdempotentMessageOptions, MessageRunOptions } from './message-options.interface.js';
export type {
  ClaimCommand,
  ClaimResult,
  ConsumeCommand,
  ConsumeResult,
  IssueCommand,
  IssueLimits,
  IssueResult,
  KeyClaimCommand,
  KeyClaimResult,
  TokenRef,
  TokenStore,
} from './token-store.interface.js';
