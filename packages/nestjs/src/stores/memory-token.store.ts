import type {
  ClaimCommand,
  ClaimResult,
  ConsumeCommand,
  ConsumeResult,
  IssueCommand,
  IssueResult,
  KeyClaimCommand,
  KeyClaimResult,
  TokenRef,
  TokenStore,
} from '../interfaces/token-store.interface.js';
import { OutcomeWaiters } from '../outcomes/outcome-waiters.js';
import { StoreUnavailableError } from './store-unavailable.error.js';

interface Expiring {
  expiresAt: number;
}
interface UnusedToken extends Expiring {
  binding: string;
}
interface Marker extends Expiring {
  binding: string;
  fingerprint: string;
  owner?: string;
  leaseEndsAt?: number;
  outcome?: string;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * {@link TokenStore} in this process's memory: the same semantics as the Redis store, for
 * development, single-instance use and unit tests. Each method runs to completion without
 * awaiting, which is what makes it atomic on Node's single thread. Not shared between
 * processes, so never use it behind a load balancer.
 */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, UnusedToken>();
  private readonly markers = new Map<string, Marker>();
  /** Per limiter bucket: when each grant counted in the window leaves it, oldest first. */
  private readonly grants = new Map<string, number[]>();
  /** Per limiter bucket: unused token id -> expiry. */
  private readonly held = new Map<string, Map<string, number>>();
  /** Copies waiting for an outcome (`Prefer: wait`). */
  private readonly waiters = new OutcomeWaiters();

  constructor(private readonly now: () => number = Date.now) {
    // unref: the sweep must never keep a process alive.
    setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  async issue(command: IssueCommand): Promise<IssueResult> {
    const now = this.now();
    this.refuseLate(now, command.deadlineMs);
    const ids = [command.ref.id, ...(command.moreIds ?? [])];
    if (ids.some((id) => this.live(this.tokens, keyOf({ tag: command.ref.tag, id }))))
      throw new Error('Token id collision');
    return this.grant(command, ids, now);
  }

  /** Stores new unused tokens if the caller's bucket allows all of them (as grant-token.lua). */
  private grant(
    { ref, binding, ttlMs, limits }: IssueCommand,
    ids: string[],
    now: number,
  ): IssueResult {
    const bucket = `${ref.tag}:${limits.bucket}`;
    const grants = this.grantsIn(bucket, now);
    const held = this.held.get(bucket) ?? new Map<string, number>();
    for (const [id, expiresAt] of held) if (expiresAt <= now) held.delete(id);
    const count = ids.length;
    const resetMs = grants.length === 0 ? 0 : grants[0] - now;
    // Until the nth oldest grant leaves, or the nth soonest holding expires; never, past the limit.
    const when = (times: number[], n: number, never: number) =>
      n <= times.length && n > 0 ? times[n - 1] - now : never;

    if (grants.length + count > limits.rateLimit) {
      return {
        granted: false,
        refusal: 'rate',
        retryAfterMs: when(grants, grants.length + count - limits.rateLimit, limits.windowMs),
        remaining: Math.max(0, limits.rateLimit - grants.length),
        resetMs,
      };
    }
    if (held.size + count > limits.maxOutstanding) {
      const expiries = [...held.values()].sort((a, b) => a - b);
      return {
        granted: false,
        refusal: 'quota',
        retryAfterMs: when(expiries, held.size + count - limits.maxOutstanding, ttlMs),
        remaining: limits.rateLimit - grants.length,
        resetMs,
      };
    }
    for (const id of ids) {
      this.tokens.set(keyOf({ tag: ref.tag, id }), { binding, expiresAt: now + ttlMs });
      grants.push(now + limits.windowMs);
      held.set(id, now + ttlMs);
    }
    this.grants.set(bucket, grants);
    this.held.set(bucket, held);
    return {
      granted: true,
      remaining: limits.rateLimit - grants.length,
      resetMs: grants[0] - now,
    };
  }

  async consume(command: ConsumeCommand): Promise<ConsumeResult> {
    const { ref, bucket, binding, fingerprint, deadlineMs } = command;
    const now = this.now();
    this.refuseLate(now, deadlineMs);
    const key = keyOf(ref);
    const token = this.live(this.tokens, key);
    if (token) {
      if (token.binding !== binding) return { state: 'unknown' };
      this.tokens.delete(key);
      this.held.get(`${ref.tag}:${bucket}`)?.delete(ref.id);
      this.startRun(key, command, now);
      if (!command.next) return { state: 'first' };
      const next = { ...command.next, binding };
      return { state: 'first', next: this.grant(next, [next.ref.id], now) };
    }
    return this.markerAnswer(key, binding, fingerprint, now) ?? { state: 'unknown' };
  }

  async claimKey(command: KeyClaimCommand): Promise<KeyClaimResult> {
    const { ref, binding, fingerprint, limits, deadlineMs } = command;
    const now = this.now();
    this.refuseLate(now, deadlineMs);
    const key = keyOf(ref);
    const copy = this.markerAnswer(key, binding, fingerprint, now);
    if (copy) return copy;
    const bucket = `${ref.tag}:${limits.bucket}`;
    const grants = this.grantsIn(bucket, now);
    if (grants.length >= limits.rateLimit) {
      const resetMs = grants[0] - now;
      return { state: 'rate', retryAfterMs: resetMs, resetMs };
    }
    this.startRun(key, command, now);
    grants.push(now + limits.windowMs);
    this.grants.set(bucket, grants);
    return {
      state: 'first',
      remaining: limits.rateLimit - grants.length,
      resetMs: grants[0] - now,
    };
  }

  async claim(command: ClaimCommand): Promise<ClaimResult> {
    const now = this.now();
    this.refuseLate(now, command.deadlineMs);
    const key = keyOf(command.ref);
    const marker = this.live(this.markers, key);
    const run = {
      owner: command.owner,
      leaseEndsAt: now + command.leaseMs,
      expiresAt: now + command.keepMs,
    };
    if (!marker) {
      this.markers.set(key, { binding: '', fingerprint: '', ...run });
      return { state: 'claimed' };
    }
    if (marker.outcome !== undefined) return { state: 'done', outcome: marker.outcome };
    if (marker.leaseEndsAt! > now) return { state: 'in_progress' };
    if (command.afterCrash === 'skip') return { state: 'crashed' };
    Object.assign(marker, run);
    return { state: 'reclaimed' };
  }

  async release(ref: TokenRef, owner: string): Promise<boolean> {
    const key = keyOf(ref);
    const marker = this.live(this.markers, key);
    if (!marker || marker.owner !== owner) return false;
    this.markers.delete(key);
    return true;
  }

  async recordOutcome(
    ref: TokenRef,
    owner: string,
    outcome: string,
    keepMs: number,
  ): Promise<boolean> {
    const marker = this.live(this.markers, keyOf(ref));
    if (!marker || marker.owner !== owner) return false;
    marker.outcome = outcome;
    marker.owner = marker.leaseEndsAt = undefined;
    marker.expiresAt = this.now() + keepMs;
    this.waiters.announce(keyOf(ref));
    return true;
  }

  async ping(): Promise<void> {}

  async waitForOutcome(ref: TokenRef, timeoutMs: number): Promise<void> {
    const key = keyOf(ref);
    const marker = this.live(this.markers, key);
    if (!marker || marker.outcome !== undefined) return;
    await this.waiters.wait(key, timeoutMs);
  }

  async close(): Promise<void> {
    this.waiters.releaseAll();
  }

  /** A first request's marker: in progress for `leaseMs`, owned by `owner`, kept `keepMs`. */
  private startRun(
    key: string,
    { binding, fingerprint, owner, leaseMs, keepMs }: ConsumeCommand | KeyClaimCommand,
    now: number,
  ): void {
    this.markers.set(key, {
      binding,
      fingerprint,
      owner,
      leaseEndsAt: now + leaseMs,
      expiresAt: now + keepMs,
    });
  }

  /** When each grant still counted in the bucket's window leaves it, oldest first. */
  private grantsIn(bucket: string, now: number): number[] {
    return (this.grants.get(bucket) ?? []).filter((leavesAt) => leavesAt > now);
  }

  /** What a marker tells a copy (as marker-answer.lua); `undefined` when there is none. */
  private markerAnswer(
    key: string,
    binding: string,
    fingerprint: string,
    now: number,
  ): Exclude<ConsumeResult, { state: 'first' }> | undefined {
    const marker = this.live(this.markers, key);
    if (!marker) return undefined;
    if (marker.binding !== binding) return { state: 'unknown' };
    if (marker.fingerprint !== fingerprint) return { state: 'mismatch' };
    if (marker.outcome !== undefined) return { state: 'done', outcome: marker.outcome };
    return marker.leaseEndsAt! > now ? { state: 'in_progress' } : { state: 'used' };
  }

  /** A call runs at once here, so only a deadline already past can be missed. */
  private refuseLate(now: number, deadlineMs: number | undefined): void {
    if (deadlineMs !== undefined && now > deadlineMs)
      throw new StoreUnavailableError(new Error('the call came after its deadline'));
  }

  private live<T extends Expiring>(map: Map<string, T>, key: string): T | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Drops what expired unread, so memory stays bounded by what is alive. */
  private sweep(): void {
    const now = this.now();
    for (const map of [this.tokens, this.markers] as Map<string, Expiring>[]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
    for (const [bucket, grants] of this.grants)
      if (grants.at(-1)! <= now) this.grants.delete(bucket);
    for (const [bucket, held] of this.held) {
      for (const [id, expiresAt] of held) if (expiresAt <= now) held.delete(id);
      if (held.size === 0) this.held.delete(bucket);
    }
  }
}

function keyOf(ref: TokenRef): string {
  return `${ref.tag}:${ref.id}`;
}
