/**
 * The contract's limit on nesting: deeper bodies are refused before the token is looked at, as
 * the recursive code after it (validation, transformation) would overflow the stack on them.
 */
export const MAX_BODY_DEPTH = 64;

/** Whether `value` nests objects or arrays deeper than `max` levels; iterative, so any depth is safe to ask about. */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
