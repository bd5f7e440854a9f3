/**
 * Where a token lives: `tag` groups all keys of one caller (the Redis Cluster hash tag), `id` is
 * the token's random part. Both come from a verified token, so a store may trust their shape
 * (`[A-Za-z0-9_-]+`).
 */
export interface TokenRef {
  tag: string;
  id: string;
}

export interface IssueCommand {
  ref: TokenRef;
  /** Subject digest and scope the token is bound to; a consume must present the same string. */
  binding: string;
  /** Lifetime of the unused token, in milliseconds. */
  ttlMs: number;
}

export interface ConsumeCommand {
  ref: TokenRef;
  /** Must equal the issued binding, else the token is `unknown` and stays as it was. */
  binding: string;
  /** Fingerprint of the request (method, path, canonical body); a copy must present the same. */
  fingerprint: string;
  /** Random id of this request: only it may record the outcome (compare-and-set). */
  owner: string;
  /** How long the first request counts as in progress, in milliseconds. */
  leaseMs: number;
  /** How long the consumed-marker is kept, in milliseconds (the outcome lifetime). */
  keepMs: number;
}

/**
 * What a consume found:
 * - `first`: the token was unused; it is now deleted and a marker holds the request's
 *   fingerprint, owned by `owner`, in progress for `leaseMs`.
 * - `unknown`: never issued, expired, bound to another subject or scope, or its marker is gone.
 *   Nothing changed.
 * - `mismatch`: consumed by a request with another fingerprint.
 * - `in_progress`: consumed, the first request has not finished and its lease still runs.
 * - `used`: consumed, the first request's lease ran out without an outcome.
 * - `done`: consumed, the first request finished; `outcome` is what it recorded.
 */
export type ConsumeResult =
  | { state: 'first' }
  | { state: 'unknown' }
  | { state: 'mismatch' }
  | { state: 'in_progress' }
  | { state: 'used' }
  | { state: 'done'; outcome: string };

/**
 * Storage of one-time tokens and the outcomes of the requests that used them.
 *
 * The contract, which `runTokenStoreContract` (from `testing/`) checks for any implementation:
 * - **Atomic.** Each method is one indivisible step, across every process sharing the store:
 *   of any number of concurrent `consume` calls for one token, exactly one sees `first`.
 * - **Delete-first.** `consume` deletes the token and claims its marker in the same step, before
 *   any handler runs; a token is never handed back.
 * - **Bound.** A `consume` whose `binding` differs from the issued one changes nothing and sees
 *   `unknown`, whether or not the token was used.
 * - **Compare-and-set outcome.** `recordOutcome` writes only if the marker is still owned by
 *   `owner` and holds no outcome yet, also after the lease ran out; it then keeps the marker for
 *   `keepMs` from now.
 * - **Lifetimes** in milliseconds: an unused token lives `ttlMs`; a marker lives `keepMs`.
 * - **Failures.** When the store cannot be reached, or a call times out, the method rejects
 *   with {@link StoreUnavailableError}. A consume that timed out may or may not have happened.
 */
export interface TokenStore {
  /** Stores a new unused token. Rejects if `ref` exists already (ids are random: never in practice). */
  issue(command: IssueCommand): Promise<void>;
  /** Checks and deletes the token and claims its marker, in one atomic step. */
  consume(command: ConsumeCommand): Promise<ConsumeResult>;
  /** Records the first request's outcome (opaque text); `false` when the marker is not `owner`'s. */
  recordOutcome(ref: TokenRef, owner: string, outcome: string, keepMs: number): Promise<boolean>;
  /** Resolves when the store answers; for health checks. */
  ping(): Promise<void>;
}
