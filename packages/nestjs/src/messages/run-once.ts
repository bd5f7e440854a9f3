import { randomUUID } from 'node:crypto';
import type { IdempotencyMetrics } from '../idempotency.metrics.js';
import { SCOPE_PATTERN } from '../idempotency.constants.js';
import type { MessageRunOptions } from '../interfaces/message-options.interface.js';
import type { TokenRef, TokenStore } from '../interfaces/token-store.interface.js';
import { first16Bytes, sha256 } from '../sha256-text.js';

export interface RunOnceOptions extends MessageRunOptions {
  /** Where claims and results live: `RedisTokenStore` shared by every consumer, or `MemoryTokenStore` in one process. */
  store: TokenStore;
  /** Counts each delivery in `idempotency_messages_total{outcome}` (`IdempotencyMetrics.create()`). */
  metrics?: IdempotencyMetrics;
}

/**
 * What a delivery came to. `ran`: the work ran now (`result` is its value). `duplicate`: it
 * ran before (`result` is what it returned then): acknowledge the delivery. `in_progress`:
 * another delivery is running it: leave this one to the broker to deliver again later.
 * `crashed`: an earlier run died and `afterCrash` is `skip`: not run.
 */
export type RunOnceResult<T> =
  | { outcome: 'ran'; result: T }
  | { outcome: 'duplicate'; result: T }
  | { outcome: 'in_progress' }
  | { outcome: 'crashed' };

const DEFAULT_LEASE_SECONDS = 60;
const DEFAULT_KEEP_SECONDS = 86_400;

/**
 * The options with their defaults, or an error naming `where` for a malformed one: checked
 * once per handler by `@Idempotent({ key })`, and on every call of `runOnce`.
 */
export function messageRunSettings(
  {
    scope = '',
    leaseSeconds = DEFAULT_LEASE_SECONDS,
    keepSeconds = DEFAULT_KEEP_SECONDS,
    afterCrash = 'retry',
  }: MessageRunOptions,
  where: string,
): Required<MessageRunOptions> {
  const wrong = (what: string) => new Error(`${where}: ${what}`);
  if (scope !== '' && !SCOPE_PATTERN.test(scope))
    throw wrong(`scope ${JSON.stringify(scope)} must match ${SCOPE_PATTERN}`);
  for (const [name, value] of Object.entries({ leaseSeconds, keepSeconds }))
    if (!Number.isSafeInteger(value) || value < 1)
      throw wrong(`${name} must be a whole number of seconds, at least 1 (got ${value})`);
  if (keepSeconds < leaseSeconds)
    throw wrong(
      `keepSeconds (${keepSeconds}) must be at least leaseSeconds (${leaseSeconds}): a claim kept shorter than its lease would vanish while its run still works`,
    );
  if (afterCrash !== 'retry' && afterCrash !== 'skip')
    throw wrong(`afterCrash must be 'retry' or 'skip' (got ${JSON.stringify(afterCrash)})`);
  return { scope, leaseSeconds, keepSeconds, afterCrash };
}

/**
 * Runs `work` at most once per `key` (a message's own id), however often the broker delivers
 * it and however many consumers race on it: the key is claimed with a lease in one atomic
 * store call, the work runs, and its result is recorded; redeliveries get that result instead
 * of running again. If `work` throws, the claim is dropped so that the next delivery runs it.
 * The result must survive `JSON.stringify` (it is returned to redeliveries from the store).
 */
export async function runOnce<T>(
  key: string,
  work: () => T | Promise<T>,
  options: RunOnceOptions,
): Promise<RunOnceResult<T>> {
  const result = await run(key, work, options);
  options.metrics?.messageHandled(result.outcome);
  return result;
}

async function run<T>(
  key: string,
  work: () => T | Promise<T>,
  options: RunOnceOptions,
): Promise<RunOnceResult<T>> {
  const { store } = options;
  const { scope, leaseSeconds, keepSeconds, afterCrash } = messageRunSettings(options, 'runOnce()');
  if (typeof key !== 'string' || key === '')
    throw new Error(`runOnce(): the key must be a non-empty string (got ${typeof key})`);
  const ref = messageRef(scope, key);
  const owner = randomUUID();
  const keepMs = keepSeconds * 1000;
  const claim = await store.claim({ ref, owner, leaseMs: leaseSeconds * 1000, keepMs, afterCrash });
  switch (claim.state) {
    case 'done':
      return { outcome: 'duplicate', result: decodeResult<T>(claim.outcome) };
    case 'in_progress':
    case 'crashed':
      return { outcome: claim.state };
  }
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await store.release(ref, owner).catch(() => false); // unreleased, it is retried after the lease
    throw error;
  }
  // The work is done: a failed write must not make the broker deliver it again, so it is not
  // thrown. A redelivery then meets the lease, and after it the `afterCrash` rule.
  await store.recordOutcome(ref, owner, encodeResult(result), keepMs).catch(() => false);
  return { outcome: 'ran', result };
}

/**
 * Where a message's marker lives: digests of the scope and key, so that any key (any length,
 * any characters) fits the store's key shape; `m` marks a message's tag apart from callers'.
 */
function messageRef(scope: string, key: string): TokenRef {
  // Bytes 0-8 are the first 12 characters exactly, bytes 9-24 the ones after.
  const digest = sha256(`${scope}\0${key}`);
  return { tag: `m${digest.slice(1, 12)}`, id: first16Bytes(digest.slice(12)) };
}

/**
 * The result as JSON, or the empty text for no result: also for one JSON has no text for (a
 * function) or cannot encode (a BigInt, a cycle). The work has run by then, so encoding must
 * not throw: a throw would leave the claim unrecorded and the message to run again.
 */
function encodeResult(result: unknown): string {
  try {
    return JSON.stringify(result) ?? '';
  } catch {
    return '';
  }
}

function decodeResult<T>(outcome: string): T {
  return (outcome === '' ? undefined : JSON.parse(outcome)) as T;
}
