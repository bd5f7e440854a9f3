import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';
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
import type { ScriptCall } from './lua/lua-script.js';
import {
  claimKey,
  claimMessage,
  consumeToken,
  issueTokens,
  recordOutcome,
  releaseClaim,
  releaseKey,
  releaseToken,
  revokeTokens,
  watchMarker,
} from './lua/scripts.js';
import { RedisClock } from './redis-clock.js';
import { OutcomeWaiters } from '../outcomes/outcome-waiters.js';
import { MAX_WAIT_SECONDS } from '../prefer-header.js';
import { StoreUnavailableError } from './store-unavailable.error.js';
import {
  PrimaryUnreachableError,
  type Replication,
  ReplicatedWrites,
} from './replicated-writes.js';
import { UndoRetries } from './undo-retries.js';

const SCRIPTS = [
  issueTokens,
  consumeToken,
  recordOutcome,
  releaseToken,
  revokeTokens,
  claimKey,
  releaseKey,
  claimMessage,
  releaseClaim,
  watchMarker,
];

/** What `defineCommand` adds to a client, looked up by name rather than declared on every consumer's `Redis` type. */
type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** What takes a script's changes back, and how long it is worth trying. */
interface Undo {
  calls: ScriptCall[];
  forMs: number;
}

/** How ioredis rejects a command it never sent (no connection, no offline queue). */
const NOT_SENT = 'enableOfflineQueue options is false';

/**
 * A grant's member in the caller's grants set: 8 of its id's characters (48 bits) are unique
 * among the few hundred grants one caller has in a window, and save Redis memory per grant.
 */
const GRANT_MEMBER_LENGTH = 8;

/**
 * An unused token is a member of its caller's held set, scored with its expiry: its whole id,
 * then the binding it was issued under, so that a consume presenting another binding finds no
 * token. One member, not a key of its own: about a third of the memory (docs/PERFORMANCE.md).
 */
const heldMember = (id: string, binding: string): string => id + binding;

/** A token's held and grant members, as issue-tokens-2.lua and revoke-tokens-2.lua take them. */
const tokenMembers = (ids: string[], binding: string): string[] =>
  ids.flatMap((id) => [heldMember(id, binding), id.slice(0, GRANT_MEMBER_LENGTH)]);

/** How often a Cluster's waiting copies look at their marker (one poll per marker, not per copy). */
const POLL_MS = 100;

/**
 * How much sooner than the client's `commandTimeout` a script must have started, by Redis'
 * clock, to change anything: room for its answer to travel back and be read before the time-out
 * fires (at most half the time-out).
 */
const DEADLINE_MARGIN_MS = 500;

export interface RedisTokenStoreOptions {
  /** Prepended to every key, before the `{tag}` hash tag. Default `idem:`. */
  keyPrefix?: string;
  /**
   * Replicas that must hold a first use's claim (a consume, a key's or a message's first use)
   * before its handler runs, and a recorded outcome before it counts as kept: `WAIT` right
   * behind the script. A claim they do not all acknowledge in time is undone and reported as
   * unavailable. Default 0: Redis' asynchronous replication, no wait.
   */
  minReplicas?: number;
  /** How long the claim waits for them, in ms; below the client's `commandTimeout`. Default 500. */
  replicaTimeoutMs?: number;
}

/**
 * {@link TokenStore} on Redis or Redis Cluster (6.2 or later). Every change is one Lua script
 * run by SHA; all keys of one token share the hash tag `{tag}`, so each script runs on one node.
 * The client is the caller's to configure and close: for fail-fast answers give it
 * `enableOfflineQueue: false` and a `commandTimeout`.
 */
export class RedisTokenStore implements TokenStore {
  private readonly prefix: string;
  private readonly clock: RedisClock;
  /** How long after sending a script may still act; `undefined` when the client never gives up. */
  private readonly budgetMs?: number;
  /** Whether this turn's writes are being held (see {@link holdWrites}). */
  private holding = false;
  /** Where recorded outcomes that copies wait for are announced; none on a Cluster. */
  private readonly channel: string;
  private readonly waiters = new OutcomeWaiters();
  private subscriber?: Promise<Redis>;
  /** A Cluster's polls for outcomes, one per marker. */
  private readonly polls = new Map<string, Promise<void>>();
  /** Absent: writes count once the primary has them. */
  private readonly replicated?: ReplicatedWrites;
  private readonly undos = new UndoRetries();

  constructor(
    private readonly redis: Redis | Cluster,
    options: RedisTokenStoreOptions = {},
  ) {
    this.prefix = options.keyPrefix ?? 'idem:';
    this.channel = redis.isCluster ? '' : `${this.prefix}outcomes`;
    this.clock = new RedisClock(redis);
    const timeoutMs = commandTimeoutOf(redis);
    if (timeoutMs) this.budgetMs = Math.max(timeoutMs / 2, timeoutMs - DEADLINE_MARGIN_MS);
    const replication = replicationOf(options, timeoutMs);
    if (replication)
      this.replicated = new ReplicatedWrites(redis, replication, (call) => this.send(call));
    for (const { name, numberOfKeys, lua } of SCRIPTS)
      redis.defineCommand(name, { numberOfKeys, lua });
  }

  async issue(command: IssueCommand): Promise<IssueResult> {
    const { ref, moreIds = [], binding, ttlMs, limits, deadlineMs } = command;
    const { bucket, rateLimit, windowMs, maxOutstanding } = limits;
    const deadline = await this.redisDeadline(deadlineMs);
    const keys = [this.key(ref, 'g', bucket), this.key(ref, 'h', bucket)];
    const members = tokenMembers([ref.id, ...moreIds], binding);
    const [outcome, retryAfterMs, remaining, resetMs] = (await this.runOrUndo(
      [issueTokens, ...keys, ttlMs, rateLimit, windowMs, maxOutstanding, deadline, ...members],
      { calls: [[revokeTokens, ...keys, ...members]], forMs: ttlMs },
    )) as [string, number, number, number];
    if (outcome === 'late') throw lateError();
    return issueResult(outcome, [retryAfterMs, remaining, resetMs]);
  }

  async consume(command: ConsumeCommand): Promise<ConsumeResult> {
    const { ref, bucket, binding, fingerprint, owner, leaseMs, keepMs, next, deadlineMs } = command;
    const deadline = await this.redisDeadline(deadlineMs);
    const grants = this.key(ref, 'g', bucket);
    const held = this.key(ref, 'h', bucket);
    const marker = this.key(ref, 'r', ref.id);
    const member = heldMember(ref.id, binding);
    // Rotation issues under the consumed token's tag: all keys of the script share one slot.
    const nextMembers = next ? tokenMembers([next.ref.id], binding) : [];
    const rotation = next
      ? [
          next.ttlMs,
          ...nextMembers,
          next.limits.rateLimit,
          next.limits.windowMs,
          next.limits.maxOutstanding,
        ]
      : [];
    const revokeNext: ScriptCall[] = next ? [[revokeTokens, grants, held, ...nextMembers]] : [];
    const [state, detail, ...issued] = (await this.runOrUndo(
      [
        consumeToken,
        marker,
        held,
        grants,
        this.key(ref, 't', ref.id),
        binding,
        fingerprint,
        owner,
        leaseMs,
        keepMs,
        member,
        deadline,
        ...rotation,
      ],
      {
        calls: [[releaseToken, marker, held, owner, member], ...revokeNext],
        forMs: leaseMs,
      },
      claimedFirst,
    )) as [string, string?, ...number[]];
    switch (state) {
      case 'late':
        throw lateError();
      case 'done':
        return { state, outcome: String(detail) };
      case 'first':
        // A next id that exists already (never, with 128 random bits) only means no next token.
        return detail === undefined || detail === 'collision'
          ? { state }
          : { state, next: issueResult(detail, issued) };
      default:
        return { state } as ConsumeResult;
    }
  }

  async claimKey(command: KeyClaimCommand): Promise<KeyClaimResult> {
    const { ref, binding, fingerprint, owner, leaseMs, keepMs, limits, deadlineMs } = command;
    const deadline = await this.redisDeadline(deadlineMs);
    const keys = [this.key(ref, 'r', ref.id), this.key(ref, 'g', limits.bucket)];
    const member = ref.id.slice(0, GRANT_MEMBER_LENGTH);
    const [state, first, second] = (await this.runOrUndo(
      [
        claimKey,
        ...keys,
        binding,
        fingerprint,
        owner,
        leaseMs,
        keepMs,
        member,
        limits.rateLimit,
        limits.windowMs,
        deadline,
      ],
      { calls: [[releaseKey, ...keys, owner, member]], forMs: leaseMs },
      claimedFirst,
    )) as [string, (string | number)?, number?];
    switch (state) {
      case 'late':
        throw lateError();
      case 'done':
        return { state, outcome: String(first) };
      case 'first':
        return { state, remaining: Number(first), resetMs: Number(second) };
      case 'rate':
        return { state, retryAfterMs: Number(first), resetMs: Number(second) };
      default:
        return { state } as KeyClaimResult;
    }
  }

  async claim({
    ref,
    owner,
    leaseMs,
    keepMs,
    afterCrash,
    deadlineMs,
  }: ClaimCommand): Promise<ClaimResult> {
    const deadline = await this.redisDeadline(deadlineMs);
    const marker = this.key(ref, 'r', ref.id);
    const [state, outcome] = (await this.runOrUndo(
      [claimMessage, marker, owner, leaseMs, keepMs, afterCrash, deadline],
      { calls: [[releaseClaim, marker, owner]], forMs: leaseMs },
      ([state]) => state === 'claimed' || state === 'reclaimed',
    )) as [string, string?];
    if (state === 'late') throw lateError();
    return state === 'done' ? { state, outcome: String(outcome) } : ({ state } as ClaimResult);
  }

  async release(ref: TokenRef, owner: string): Promise<boolean> {
    return (await this.run(releaseClaim, this.key(ref, 'r', ref.id), owner)) === 1;
  }

  async recordOutcome(
    ref: TokenRef,
    owner: string,
    outcome: string,
    keepMs: number,
  ): Promise<boolean> {
    const call: ScriptCall = [
      recordOutcome,
      this.key(ref, 'r', ref.id),
      owner,
      outcome,
      keepMs,
      this.channel,
    ];
    const writes = this.replicated;
    if (!writes) return (await this.run(...call)) === 1;
    const [recorded, replicated] = await this.call(() => writes.run(call, (reply) => reply === 1));
    // Kept on the primary, where copies find it; only a failover before the replicas copy it
    // loses it, so the caller is told, and writes it again (OutcomeRecorder).
    if (recorded === 1 && !replicated) throw notReplicated('outcome', writes.replication);
    return recorded === 1;
  }

  async ping(): Promise<void> {
    await this.call(() => this.redis.ping());
  }

  /**
   * Standalone: one subscriber connection for all waiters of this store; the marker is flagged
   * (watch-marker-1.lua) so that record-outcome-1.lua announces its outcome, and nothing is
   * published for a first use nobody waits for. Cluster (no pub/sub across its slots): one
   * poll per marker, shared by its waiters, every {@link POLL_MS}.
   */
  async waitForOutcome(ref: TokenRef, timeoutMs: number): Promise<void> {
    const marker = this.key(ref, 'r', ref.id);
    if (this.redis.isCluster) return this.pollForOutcome(marker, timeoutMs);
    const announced = this.waiters.wait(marker, timeoutMs);
    try {
      await this.subscribed();
      if ((await this.run(watchMarker, marker)) === 0) this.waiters.announce(marker);
    } catch {
      return this.pollForOutcome(marker, timeoutMs); // no subscriber now: look, as on a Cluster
    }
    return announced;
  }

  async close(): Promise<void> {
    this.undos.close();
    this.waiters.releaseAll();
    const subscriber = await this.subscriber?.catch(() => undefined);
    this.subscriber = undefined;
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  /** The subscriber connection, subscribed to the outcome channel: made on the first wait. */
  private subscribed(): Promise<Redis> {
    this.subscriber ??= (async () => {
      // Its own connection (a subscribed one can do nothing else); it queues the SUBSCRIBE
      // while it connects, and resubscribes by itself after a reconnect.
      const subscriber = (this.redis as Redis).duplicate({ enableOfflineQueue: true });
      subscriber.on('error', () => undefined); // the waits time out; requests report the outage
      subscriber.on('message', (_channel: string, marker: string) => this.waiters.announce(marker));
      await subscriber.subscribe(this.channel);
      return subscriber;
    })().catch((error: unknown) => {
      this.subscriber = undefined;
      throw error;
    });
    return this.subscriber;
  }

  /** Resolves when the marker is no longer in progress, or after `timeoutMs`; one poll per marker. */
  private pollForOutcome(marker: string, timeoutMs: number): Promise<void> {
    let poll = this.polls.get(marker);
    if (!poll) {
      poll = this.pollUntilRecorded(marker).finally(() => this.polls.delete(marker));
      this.polls.set(marker, poll);
    }
    return Promise.race([poll, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs))]);
  }

  private async pollUntilRecorded(marker: string): Promise<void> {
    const until = Date.now() + MAX_WAIT_SECONDS * 1000;
    while (Date.now() < until) {
      const type = await this.call(() => this.redis.type(marker)).catch(() => 'hash');
      if (type !== 'hash') return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /**
   * The last moment, by Redis' clock (ms since the epoch; 0: none), at which a script sent now may
   * still change anything: the caller's own deadline, or sooner, while this client still waits
   * for the answer. A script Redis runs later (it was paused, or busy past the time-out) changes
   * nothing, so a caller that answered 503 has consumed and been charged nothing.
   */
  private redisDeadline(deadlineMs: number | undefined): number | Promise<number> {
    const now = performance.now();
    const at = Math.min(
      deadlineMs === undefined ? Infinity : now + deadlineMs - Date.now(),
      now + (this.budgetMs ?? Infinity),
    );
    if (at === Infinity) return 0;
    const time = this.clock.toRedisTime(at);
    return typeof time === 'number' ? Math.floor(time) : this.call(() => time).then(Math.floor);
  }

  /**
   * `r` consumed-marker (per token id); `g` grants, `h` unused tokens (per limiter bucket); `t`
   * an unused token as versions up to 0.2 stored it, a key each (a consume still finds it). Every
   * key of a caller shares the hash tag `{tag}`.
   */
  private key(ref: TokenRef, kind: 't' | 'r' | 'g' | 'h', name: string): string {
    return `${this.prefix}{${ref.tag}}:${kind}:${name}`;
  }

  /**
   * Runs a script that changes something; when its answer is lost (timed out, or the connection
   * closed after it was sent), runs the `undo` right behind it on the same connection (same hash
   * tag, same node), so Redis runs it after the script whenever it runs the script; when the
   * connection is gone, again until Redis answers it (a promoted replica may have the script's
   * writes), for `undo.forMs`. The deadline stops a script Redis reaches late; the undo covers
   * one it ran whose answer never came back. Not awaited: the caller answers 503 at once.
   *
   * With `minReplicas`, a script whose answer says it `claimed` a first use counts only once the
   * replicas have it; without them it is undone as well, and answered 503 as a time-out is: its
   * handler does not run, so whichever server ends up primary, the token works again.
   */
  private async runOrUndo(
    call: ScriptCall,
    undo: Undo,
    claimed?: (reply: [string]) => boolean,
  ): Promise<unknown> {
    const writes = this.replicated;
    try {
      if (!writes || !claimed) return await this.run(...call);
      const [reply, replicated] = await this.call(() =>
        writes.run(call, (answer) => claimed(answer as [string])),
      );
      if (replicated) return reply;
      this.undo(undo);
      throw notReplicated('claim', writes.replication);
    } catch (error) {
      if (mayHaveRun(error)) this.undo(undo);
      throw error;
    }
  }

  private undo({ calls, forMs }: Undo): void {
    this.undos.add(() => Promise.all(calls.map((call) => this.run(...call))), forMs);
  }

  private run(...call: ScriptCall): Promise<unknown> {
    return this.call(() => this.send(call));
  }

  /** The script by the client's own command for it (EVALSHA, EVAL on a new connection). */
  private send([script, ...keysAndArgs]: ScriptCall): Promise<unknown> {
    const command = (this.redis as unknown as Record<string, ScriptCommand>)[script.name];
    this.holdWrites();
    return command.apply(this.redis, keysAndArgs);
  }

  /**
   * Holds what is written to a standalone client's socket until the end of this turn of the
   * event loop (`setImmediate` runs once every connection Node found readable was handled), so
   * that the scripts of all the requests read in one turn leave in one write: each write is a
   * system call and a wake-up of Redis, which were the largest single cost of a replay
   * (docs/PERFORMANCE.md). Order on the connection is unchanged. A Cluster spreads its commands
   * over many connections and is left as it is.
   */
  private holdWrites(): void {
    if (this.holding || this.redis.isCluster) return;
    const socket = (this.redis as Redis).stream;
    if (!socket) return;
    this.holding = true;
    socket.cork();
    setImmediate(() => {
      this.holding = false;
      socket.uncork();
    });
  }

  /** Every ioredis failure (closed connection, timeout, cluster down) means the same to a caller. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }
}

function commandTimeoutOf(redis: Redis | Cluster): number | undefined {
  return redis.isCluster
    ? (redis as Cluster).options.redisOptions?.commandTimeout
    : (redis as Redis).options.commandTimeout;
}

/** An issuance as issue-tokens-n.lua (and a rotation) answers it: outcome, then its three figures. */
function issueResult(outcome: string, [retryAfterMs, remaining, resetMs]: number[]): IssueResult {
  if (outcome === 'granted') return { granted: true, remaining, resetMs };
  if (outcome === 'rate' || outcome === 'quota')
    return { granted: false, refusal: outcome, retryAfterMs, remaining, resetMs };
  throw new Error('Token id collision');
}

/** The replication settings of `options`, checked against the client's command time-out. */
function replicationOf(
  { minReplicas = 0, replicaTimeoutMs = 500 }: RedisTokenStoreOptions,
  commandTimeoutMs: number | undefined,
): Replication | undefined {
  if (!Number.isSafeInteger(minReplicas) || minReplicas < 0)
    throw new Error(`minReplicas must be a whole number from 0, got ${minReplicas}`);
  if (!Number.isSafeInteger(replicaTimeoutMs) || replicaTimeoutMs <= 0)
    throw new Error(`replicaTimeoutMs must be a positive whole number, got ${replicaTimeoutMs}`);
  if (minReplicas === 0) return undefined;
  // The WAIT is a command too: past the time-out the client gives up on it before Redis answers.
  if (commandTimeoutMs !== undefined && replicaTimeoutMs >= commandTimeoutMs)
    throw new Error(
      `replicaTimeoutMs (${replicaTimeoutMs}) must be below the Redis client's commandTimeout (${commandTimeoutMs})`,
    );
  return { replicas: minReplicas, timeoutMs: replicaTimeoutMs };
}

/**
 * Whether a failed script may have run: not when Redis refused it (a reply error: NOSCRIPT,
 * OOM before its first write, MOVED, CLUSTERDOWN) or when the client never sent it.
 */
function mayHaveRun(error: unknown): boolean {
  const cause = (error as StoreUnavailableError).cause as Error | undefined;
  return (
    !!cause &&
    cause.name !== 'ReplyError' &&
    !(cause instanceof PrimaryUnreachableError) &&
    !cause.message.endsWith(NOT_SENT)
  );
}

/** A consume's, a key's first use: the answers whose claim must reach the replicas. */
function claimedFirst([state]: [string]): boolean {
  return state === 'first';
}

function notReplicated(what: 'claim' | 'outcome', { replicas, timeoutMs }: Replication) {
  return new StoreUnavailableError(
    new Error(
      `fewer than ${replicas} replica(s) acknowledged the ${what} within ${timeoutMs} ms` +
        (what === 'claim' ? '; it was undone' : '; it is kept on the primary only'),
    ),
  );
}

function lateError(): StoreUnavailableError {
  return new StoreUnavailableError(
    new Error('Redis ran the script after its deadline (paused or overloaded); it changed nothing'),
  );
}
