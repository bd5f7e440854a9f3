/**
 * Where a token lives: `tag` groups all keys of one caller (the Redis Cluster hash tag), `id` is
 * the token's random part. Both come from a verified token, so a store may trust their shape
 * (`[A-Za-z0-9_-]+`).
 */
export interface TokenRef {
  tag: string;
  id: string;
}

/** One limiter policy as applied to one caller. */
export interface IssueLimits {
  /** Which of the caller's limiter buckets the token counts in: `''` for the default policy. */
  bucket: string;
  /** At most this many grants in any interval of `windowMs`. */
  rateLimit: number;
  windowMs: number;
  /** At most this many unused, unexpired tokens held at once. */
  maxOutstanding: number;
}

export interface IssueCommand {
  ref: TokenRef;
  /** A batch: the ids of the further tokens, under `ref.tag`; all of them are issued or none. */
  moreIds?: string[];
  /** Subject digest and scope the token is bound to; a consume must present the same string. */
  binding: string;
  /** Lifetime of the unused token, in milliseconds. */
  ttlMs: number;
  limits: IssueLimits;
  /**
   * When the caller gives up, in ms since the epoch by this process's clock (`Date.now()`):
   * past it the store changes nothing and rejects with `StoreUnavailableError`, also when the
   * command reaches the store late. A store whose calls can time out sets a sooner deadline
   * itself, so that a call the caller gave up on never takes effect afterwards.
   */
  deadlineMs?: number;
}

/**
 * What an issue did. `remaining`: how many more grants the window admits now; `resetMs`: until
 * the oldest grant counted in the window leaves it (0 when none). A refusal says when a retry
 * would pass that check: `rate` when the window next admits one, `quota` when the soonest held
 * token expires.
 */
export type IssueResult =
  | { granted: true; remaining: number; resetMs: number }
  | {
      granted: false;
      refusal: 'rate' | 'quota';
      retryAfterMs: number;
      remaining: number;
      resetMs: number;
    };

export interface ConsumeCommand {
  ref: TokenRef;
  /** The limiter bucket the token was issued in; a first consume frees its place there. */
  bucket: string;
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
  /**
   * Rotation: on a first use, issue this next token in the same step, for the same binding and
   * bucket (its `ref.tag` is the consumed token's), under the limits as `issue` would.
   */
  next?: Omit<IssueCommand, 'binding' | 'deadlineMs'>;
  /**
   * When the caller gives up, in ms since the epoch by this process's clock (`Date.now()`):
   * past it the store changes nothing and rejects with `StoreUnavailableError`, also when the
   * command reaches the store late. A store whose calls can time out sets a sooner deadline
   * itself, so that a call the caller gave up on never takes effect afterwards.
   */
  deadlineMs?: number;
}

/**
 * What a consume found:
 * - `first`: the token was unused; it is now deleted and a marker holds the request's
 *   fingerprint, owned by `owner`, in progress for `leaseMs`. With `next`, `next` says whether
 *   the next token was issued (a refusal changes nothing of it and does not count).
 * - `unknown`: never issued, expired, bound to another subject or scope, or its marker is gone.
 *   Nothing changed.
 * - `mismatch`: consumed by a request with another fingerprint.
 * - `in_progress`: consumed, the first request has not finished and its lease still runs.
 * - `used`: consumed, the first request's lease ran out without an outcome.
 * - `done`: consumed, the first request finished; `outcome` is what it recorded.
 */
export type ConsumeResult =
  | { state: 'first'; next?: IssueResult }
  | { state: 'unknown' }
  | { state: 'mismatch' }
  | { state: 'in_progress' }
  | { state: 'used' }
  | { state: 'done'; outcome: string };

/** A client-chosen key's use (`Idempotency-Key`), as the interceptor claims it before the handler runs. */
export interface KeyClaimCommand {
  /** The caller's tag and a digest of the scope and key (the module makes it; never a token's ref). */
  ref: TokenRef;
  /** Subject digest and scope; a copy from another caller never meets this marker (its tag differs). */
  binding: string;
  /** Fingerprint of the request; a copy must present the same. */
  fingerprint: string;
  /** Random id of this request: only it may record the outcome. */
  owner: string;
  /** How long the first request counts as in progress, in milliseconds. */
  leaseMs: number;
  /** How long the marker is kept, in milliseconds (the outcome lifetime). */
  keepMs: number;
  /** The caller's rate window: a first use counts as a grant in it, as an issued token does. */
  limits: Pick<IssueLimits, 'bucket' | 'rateLimit' | 'windowMs'>;
  /** As on {@link ConsumeCommand}: past it the claim changes nothing. */
  deadlineMs?: number;
}

/**
 * What a key claim found: `first` (claimed, one grant counted; `remaining` and `resetMs` as on
 * an issue), `rate` (the window is full: nothing claimed or counted; retry after
 * `retryAfterMs`), or what a consume tells a copy.
 */
export type KeyClaimResult =
  | { state: 'first'; remaining: number; resetMs: number }
  | { state: 'rate'; retryAfterMs: number; resetMs: number }
  | Exclude<ConsumeResult, { state: 'first' }>;

/** A message's run, as `runOnce` claims it before running the work. */
export interface ClaimCommand {
  /** Where the message's marker lives: digests of its key (`runOnce` makes them). */
  ref: TokenRef;
  /** Random id of this run: only it may record the result or release the claim. */
  owner: string;
  /** How long this run counts as in progress, in milliseconds. */
  leaseMs: number;
  /** How long the marker is kept, in milliseconds. */
  keepMs: number;
  /** A run whose lease ran out with nothing recorded: run it again (`retry`) or not (`skip`). */
  afterCrash: 'retry' | 'skip';
  /** As on {@link ConsumeCommand}: past it the claim changes nothing. */
  deadlineMs?: number;
}

/**
 * What a claim found:
 * - `claimed`: no run yet; this one holds the lease for `leaseMs`.
 * - `reclaimed`: a run's lease ran out with nothing recorded (its worker died) and `afterCrash`
 *   is `retry`: this run holds the lease now.
 * - `crashed`: the same with `skip`. Nothing changed.
 * - `in_progress`: another run holds the lease.
 * - `done`: a run finished; `outcome` is what it recorded.
 */
export type ClaimResult =
  | { state: 'claimed' }
  | { state: 'reclaimed' }
  | { state: 'crashed' }
  | { state: 'in_progress' }
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
 * - **Limited.** `issue` stores a token only when the caller's bucket has granted fewer than
 *   `rateLimit` tokens in the last `windowMs` (a sliding window: never more in any interval of
 *   that length) and holds fewer than `maxOutstanding` unused, unexpired ones; a refusal changes
 *   nothing and does not count. A first consume, or expiry, frees a held place. What the limiter
 *   keeps per caller is bounded by the limits and expires with them.
 * - **Keys.** `claimKey` is `consume` for a key the client chose: the first claim of a ref
 *   marks it in progress and counts a grant in the caller's window (refused, changing nothing,
 *   when the window is full); later claims see the marker as a consume's copy would.
 * - **Claims** (messages): of concurrent `claim` calls for one ref exactly one sees `claimed`
 *   (or `reclaimed`); `recordOutcome` turns the claim `done`, `release` drops it.
 * - **Lifetimes** in milliseconds: an unused token lives `ttlMs`; a marker lives `keepMs`.
 * - **Failures.** When the store cannot be reached, or a call times out, the method rejects
 *   with {@link StoreUnavailableError}. An `issue` or `consume` the caller was told failed never
 *   takes effect later: past its deadline (`deadlineMs`, or the store's own time-out) it changes
 *   nothing, so the token still works and nothing is charged.
 */
export interface TokenStore {
  /** Checks the limits and stores a new unused token, in one atomic step. Rejects if `ref` is unused already under that binding (ids are random: never in practice). */
  issue(command: IssueCommand): Promise<IssueResult>;
  /** Checks and deletes the token and claims its marker, in one atomic step. */
  consume(command: ConsumeCommand): Promise<ConsumeResult>;
  /** Records the first request's outcome (opaque text); `false` when the marker is not `owner`'s. */
  recordOutcome(ref: TokenRef, owner: string, outcome: string, keepMs: number): Promise<boolean>;
  /**
   * Claims a client-chosen key's first use if the caller's rate window allows it, or reports
   * its marker to a copy, in one atomic step: of concurrent claims of one key one is `first`.
   */
  claimKey(command: KeyClaimCommand): Promise<KeyClaimResult>;
  /** Claims a message's run, in one atomic step: of concurrent claims one holds the lease. */
  claim(command: ClaimCommand): Promise<ClaimResult>;
  /**
   * Drops a claim whose run failed, so that the broker's next delivery runs it; `false` when
   * the marker is not `owner`'s or holds a result. A result is recorded with `recordOutcome`.
   */
  release(ref: TokenRef, owner: string): Promise<boolean>;
  /** Resolves when the store answers; for health checks. */
  ping(): Promise<void>;
  /**
   * Optional (`Prefer: wait`): resolves when the outcome of the request in progress at `ref` is
   * recorded (or its marker is gone), or after `timeoutMs`, without holding a connection or
   * polling per waiter. A store without it ignores the preference.
   */
  waitForOutcome?(ref: TokenRef, timeoutMs: number): Promise<void>;
  /** Optional: lets go of what the store opened itself (a subscriber connection); at shutdown. */
  close?(): Promise<void>;
}
