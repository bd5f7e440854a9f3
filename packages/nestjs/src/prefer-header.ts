import type { IdempotencyRequest } from './interfaces/caller.interface.js';

/** The longest a copy waits for the first request's answer (`Prefer: wait=N`), in seconds. */
export const MAX_WAIT_SECONDS = 10;

/**
 * The preferences of the request's `Prefer` headers (RFC 7240) that the module honours:
 * `next-token` (token rotation) and `wait=N` (seconds, capped at {@link MAX_WAIT_SECONDS}).
 * Names are case-insensitive; values may be quoted; unknown preferences are ignored.
 */
export function preferencesOf(request: IdempotencyRequest): {
  nextToken: boolean;
  waitSeconds: number;
} {
  const header = request.headers.prefer;
  const preferences = { nextToken: false, waitSeconds: 0 };
  if (header === undefined) return preferences;
  for (const preference of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [name, value] = preference
      .split(';', 1)[0]
      .split('=', 2)
      .map((part) => part.trim());
    const lower = name.toLowerCase();
    if (lower === 'next-token') preferences.nextToken = true;
    else if (lower === 'wait' && value !== undefined) {
      const seconds = Number(value.replace(/^"(.*)"$/, '$1'));
      if (Number.isInteger(seconds) && seconds > 0)
        preferences.waitSeconds = Math.min(seconds, MAX_WAIT_SECONDS);
    }
  }
  return preferences;
}
