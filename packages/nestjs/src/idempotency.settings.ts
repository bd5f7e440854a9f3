import type { SubjectResolver } from './interfaces/caller.interface.js';
import type { IdempotencyModuleOptions } from './interfaces/idempotency-module-options.interface.js';
import { defaultSubjectResolver } from './caller.js';
import { definedOnly } from './defined-only.js';
import { DEFAULT_REPLAY_HEADERS, replayHeaderList } from './outcomes/replay-headers.js';
import { type LimiterPolicy, limiterPolicies } from './limiter/limiter-policy.js';

/** The module options with defaults applied and checked; what the module's providers read. */
export interface IdempotencySettings {
  secret: string;
  keyPrefix: string;
  tokenTtlSeconds: number;
  maxTokenTtlSeconds: number;
  maxBatch: number;
  resultTtlSeconds: number;
  inProgressTtlSeconds: number;
  maxStoredResponseBytes: number;
  minReplicas: number;
  replicaTimeoutMs: number;
  resolveSubject: SubjectResolver;
  /** Lower-case names of the answer headers replays carry, unless a handler says otherwise. */
  replayHeaders: readonly string[];
  /** The limiter policy that tokens of a scope count under. */
  policyFor: (scope: string | undefined) => LimiterPolicy;
}

export const MIN_SECRET_LENGTH = 32;

const DEFAULTS = {
  keyPrefix: 'idem:',
  tokenTtlSeconds: 900,
  maxTokenTtlSeconds: 86_400,
  maxBatch: 20,
  resultTtlSeconds: 86_400,
  inProgressTtlSeconds: 60,
  maxStoredResponseBytes: 65_536,
  minReplicas: 0,
  replicaTimeoutMs: 500,
};

/** Applies defaults and fails at start, with what to change, rather than on the first request. */
export function resolveSettings(options: IdempotencyModuleOptions): IdempotencySettings {
  const { limits, scopeLimits, replayHeaders = DEFAULT_REPLAY_HEADERS, ...rest } = options;
  const settings: IdempotencySettings = {
    ...DEFAULTS,
    ...definedOnly(rest),
    resolveSubject: options.resolveSubject ?? defaultSubjectResolver,
    policyFor: limiterPolicies(limits, scopeLimits),
    replayHeaders: replayHeaderList(replayHeaders, 'IdempotencyModule replayHeaders'),
  } as IdempotencySettings;
  const problems: string[] = [];
  if (typeof settings.secret !== 'string' || settings.secret.length < MIN_SECRET_LENGTH) {
    problems.push(
      `secret must be at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 48\`)`,
    );
  }
  for (const name of [
    'tokenTtlSeconds',
    'maxTokenTtlSeconds',
    'maxBatch',
    'resultTtlSeconds',
    'inProgressTtlSeconds',
    'maxStoredResponseBytes',
  ] as const) {
    if (!Number.isSafeInteger(settings[name]) || settings[name] <= 0) {
      problems.push(`${name} must be a positive whole number, got ${String(settings[name])}`);
    }
  }
  // The numbers themselves are the Redis store's to check (it is also made without the module).
  if (settings.minReplicas !== 0 && (options.store || !options.redis)) {
    problems.push(
      'minReplicas needs the Redis store (the `redis` option): the in-memory store has no replicas, and a custom `store` replicates its own way',
    );
  }
  if (settings.tokenTtlSeconds > settings.maxTokenTtlSeconds) {
    problems.push(
      `tokenTtlSeconds (${settings.tokenTtlSeconds}) must not exceed maxTokenTtlSeconds (${settings.maxTokenTtlSeconds})`,
    );
  }
  if (problems.length > 0) {
    throw new Error(`Invalid IdempotencyModule options:\n- ${problems.join('\n- ')}`);
  }
  return settings;
}
