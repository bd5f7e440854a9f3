import { SCOPE_PATTERN } from '../idempotency.constants.js';
import { validationFailed } from '../problems/idempotency.problems.js';

const WHOLE_NUMBER = /^[0-9]{1,10}$/;

/**
 * Checks `GET /tokens`' query by hand rather than with a class-validator pipe: two fields do
 * not justify a pipe on the busiest route. A parameter present but empty is invalid, and so is
 * one given twice.
 */
export function parseIssueQuery(
  query: Record<string, unknown>,
  maxTtlSeconds: number,
): { scope?: string; ttlSeconds?: number } {
  const errors: string[] = [];
  const { scope, ttl } = query;
  if (scope !== undefined && (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope))) {
    errors.push('scope must be 1 to 64 characters from A-Z a-z 0-9 . _ : -');
  }
  if (
    ttl !== undefined &&
    (typeof ttl !== 'string' ||
      !WHOLE_NUMBER.test(ttl) ||
      Number(ttl) < 1 ||
      Number(ttl) > maxTtlSeconds)
  ) {
    errors.push(`ttl must be a whole number of seconds from 1 to ${maxTtlSeconds}`);
  }
  if (errors.length > 0) throw validationFailed(`Invalid query: ${errors.join('; ')}.`, errors);
  return {
    scope: scope as string | undefined,
    ttlSeconds: ttl === undefined ? undefined : Number(ttl),
  };
}
