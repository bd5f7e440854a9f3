import { definedOnly } from '../defined-only.js';
import { SCOPE_PATTERN } from '../idempotency.constants.js';
import type { IssueLimits, IssueResult } from '../interfaces/token-store.interface.js';

/** How many tokens one caller may fetch and hold. Every duration says its unit. */
export interface LimiterOptions {
  /** Tokens granted to one caller in any interval of `rateWindowSeconds`. Default 60. */
  rateLimit?: number;
  /** Length of the sliding window, in seconds. Default 60. */
  rateWindowSeconds?: number;
  /** Unused, unexpired tokens one caller may hold. Default 100. */
  maxOutstanding?: number;
}

/** A resolved policy: the store's {@link IssueLimits} plus its name in the RateLimit headers. */
export interface LimiterPolicy extends IssueLimits {
  name: string;
  windowSeconds: number;
}

const DEFAULT_LIMITS: Required<LimiterOptions> = {
  rateLimit: 60,
  rateWindowSeconds: 60,
  maxOutstanding: 100,
};

/**
 * Builds the policy lookup: tokens of a scope listed in `scopeLimits` count in a bucket of
 * their own, under limits that fall back to `limits`; all other tokens share the default bucket.
 * Throws, listing every problem, when a limit is not a positive whole number or a scope is malformed.
 */
export function limiterPolicies(
  limits: LimiterOptions = {},
  scopeLimits: Record<string, LimiterOptions> = {},
): (scope: string | undefined) => LimiterPolicy {
  const problems: string[] = [];
  const build = (
    name: string,
    bucket: string,
    options: LimiterOptions,
    path: string,
  ): LimiterPolicy => {
    const merged = { ...DEFAULT_LIMITS, ...definedOnly(limits), ...definedOnly(options) };
    for (const [field, value] of Object.entries(merged)) {
      if (!Number.isSafeInteger(value) || value <= 0)
        problems.push(`${path}.${field} must be a positive whole number, got ${String(value)}`);
    }
    return {
      name,
      bucket,
      rateLimit: merged.rateLimit,
      windowMs: merged.rateWindowSeconds * 1000,
      windowSeconds: merged.rateWindowSeconds,
      maxOutstanding: merged.maxOutstanding,
    };
  };
  const fallback = build('tokens', '', {}, 'limits');
  const byScope = new Map<string, LimiterPolicy>();
  for (const [scope, options] of Object.entries(scopeLimits)) {
    if (!SCOPE_PATTERN.test(scope))
      problems.push(`scopeLimits key ${JSON.stringify(scope)} must match ${SCOPE_PATTERN}`);
    byScope.set(
      scope,
      build(`tokens:${scope}`, scope, options, `scopeLimits[${JSON.stringify(scope)}]`),
    );
  }
  if (problems.length > 0) throw new Error(`Invalid limiter options:\n- ${problems.join('\n- ')}`);
  return (scope) => (scope === undefined ? undefined : byScope.get(scope)) ?? fallback;
}

/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) in the contract's form:
 * `RateLimit-Policy: "tokens";q=60;w=60` and `RateLimit: "tokens";r=59;t=12`.
 */
export function rateLimitHeaders(
  policy: LimiterPolicy,
  result: Pick<IssueResult, 'remaining' | 'resetMs'>,
): Record<string, string> {
  return {
    'RateLimit-Policy': `"${policy.name}";q=${policy.rateLimit};w=${policy.windowSeconds}`,
    RateLimit: `"${policy.name}";r=${result.remaining};t=${Math.ceil(result.resetMs / 1000)}`,
  };
}

/** Whole seconds, at least 1, never early (the contract's limiter rules). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
