import { SCOPE_PATTERN } from '../idempotency.constants.js';
import { validationFailed } from '../problems/idempotency.problems.js';

const WHOLE_NUMBER = /^[0-9]{1,10}$/;

/** Absent, or one whole number from 1 to `max` (given once, not empty). */
const wholeNumberWithin = (value: unknown, max: number) =>
  value === undefined ||
  (typeof value === 'string' &&
    WHOLE_NUMBER.test(value) &&
    Number(value) >= 1 &&
    Number(value) <= max);

/**
 * Checks `GET /tokens`' query by hand rather than with a class-validator pipe: three fields do
 * not justify a pipe on the busiest route. A parameter present but empty is invalid, and so is
 * one given twice.
 */
export function parseIssueQuery(
  query: Record<string, unknown>,
  maxTtlSeconds: number,
  maxBatch: number,
): { scope?: string; ttlSeconds?: number; count?: number } {
  const errors: string[] = [];
  const { scope, ttl, count } = query;
  if (scope !== undefined && (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope))) {
    errors.push('scope must be 1 to 64 characters from A-Z a-z 0-9 . _ : -');
  }
  if (!wholeNumberWithin(ttl, maxTtlSeconds)) {
    errors.push(`ttl must be a whole number of seconds from 1 to ${maxTtlSeconds}`);
  }
  if (!wholeNumberWithin(count, maxBatch))
    errors.push(`count must be a whole number of tokens from 1 to ${maxBatch}`);
  if (errors.length > 0) throw validationFailed(`Invalid query: ${errors.join('; ')}.`, errors);
  return {
    scope: scope as string | undefined,
    ttlSeconds: ttl === undefined ? undefined : Number(ttl),
    count: count === undefined ? undefined : Number(count),
  };
}
