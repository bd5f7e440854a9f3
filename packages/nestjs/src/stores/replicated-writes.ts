import calculateSlot from 'cluster-key-slot';
import { type Cluster, Command, type Pipeline, type Redis } from 'ioredis';
import type { ScriptCall } from './lua/lua-script.js';

/** How many replicas must acknowledge a write, and how long it waits for them. */
export interface Replication {
  replicas: number;
  timeoutMs: number;
}

/**
 * After replicas missed a WAIT, how long writes to their primary skip it and count as not
 * replicated: a WAIT blocks its connection, so waiting on a replica that is down would hold
 * every command behind it, issuance and replays too. The first batch after it tries again.
 */
const REPLICAS_BEHIND_MS = 1_000;

/** A Cluster's slot has a primary the client holds no connection to: nothing was sent. */
export class PrimaryUnreachableError extends Error {
  override name = 'PrimaryUnreachableError';
}

/** Replies as text, as the client's own commands give them (a bare Command gives Buffers). */
const UTF8 = { replyEncoding: 'utf8' } as const;

interface Waiting {
  call: ScriptCall;
  /** Whether the script's reply says it wrote something the replicas must have. */
  wrote(reply: unknown): boolean;
  resolve(answer: [reply: unknown, replicated: boolean]): void;
  reject(error: unknown): void;
}

/**
 * Scripts whose writes count only once replicas have them: each goes with a `WAIT replicas
 * timeout` behind it on the same connection, so the WAIT counts the replicas that hold its
 * writes. A WAIT blocks its connection until the replicas answer, so one per script would queue
 * each script behind the one before (measured: first uses at half their speed); instead the
 * scripts of one turn of the event loop to one primary go in one pipeline with one WAIT behind
 * them all: one write, one node. On a Cluster, the pipeline goes on the connection ioredis keeps
 * to the primary of their slots: a redirect fails its scripts, never moves one away from its
 * WAIT; and the Cluster's own pipeline would be sent again, 100 ms after its connection closed
 * (`retryDelayOnFailover`), running claims already answered 503 and undone. A script
 * whose reply says it wrote nothing (a replay, a refusal) is answered as soon as its reply
 * comes; only the others wait for the WAIT's.
 *
 * By EVALSHA rather than the client's script commands, which resend a script Redis does not
 * know on their own, after the WAIT; here a NOSCRIPT (a promoted replica never loaded it) sends
 * those scripts whole, with a WAIT of their own.
 */
export class ReplicatedWrites {
  /** This turn's scripts, per primary (`''` on a single Redis, else its address). */
  private readonly batches = new Map<string, Waiting[]>();
  /** Until when a primary's replicas count as behind. */
  private readonly behindUntil = new Map<string, number>();

  constructor(
    private readonly redis: Redis | Cluster,
    readonly replication: Replication,
    /** Runs a script alone, without a WAIT. */
    private readonly runAlone: (call: ScriptCall) => Promise<unknown>,
  ) {}

  /**
   * The script's reply, and whether the replicas have what it wrote: true when it wrote nothing
   * (`wrote` says so), false while they are behind (not asked).
   */
  run(
    call: ScriptCall,
    wrote: (reply: unknown) => boolean,
  ): Promise<[reply: unknown, replicated: boolean]> {
    const primary = this.primaryOf(call[1] as string);
    if ((this.behindUntil.get(primary) ?? 0) > Date.now())
      return this.runAlone(call).then((reply) => [reply, !wrote(reply)]);
    let batch = this.batches.get(primary);
    if (!batch) {
      const opened: Waiting[] = (batch = []);
      this.batches.set(primary, opened);
      setImmediate(() => {
        this.batches.delete(primary);
        void this.send(primary, opened, 'evalsha');
      });
    }
    const waiting = batch;
    return new Promise((resolve, reject) => waiting.push({ call, wrote, resolve, reject }));
  }

  private async send(primary: string, batch: Waiting[], command: 'evalsha' | 'eval') {
    const { replicas, timeoutMs } = this.replication;
    const connection = this.connectionTo(primary);
    if (!connection) {
      this.relearnSlots();
      const error = new PrimaryUnreachableError(`No connection to ${primary}, the slot's primary`);
      return batch.forEach((waiting) => waiting.reject(error));
    }
    // A Pipeline underneath: each command's own promise settles with its reply, before exec()'s.
    const pipeline = connection.pipeline() as unknown as Pipeline;
    const replies = batch.map(({ call: [script, ...keysAndArgs] }) => {
      const body = command === 'evalsha' ? script.sha1 : script.lua;
      const sent = new Command(command, [body, script.numberOfKeys, ...keysAndArgs], UTF8);
      pipeline.sendCommand(sent);
      return sent.promise;
    });
    const wait = new Command('wait', [replicas, timeoutMs], UTF8);
    pipeline.sendCommand(wait);
    const replicated = wait.promise.then(
      (acknowledged) => Number(acknowledged) >= replicas,
      () => false,
    );
    void replicated.then((all) => {
      if (all) this.behindUntil.delete(primary);
      else this.behindUntil.set(primary, Date.now() + REPLICAS_BEHIND_MS);
    });
    // Rejects only when the pipeline could not be sent at all: then no reply ever comes.
    pipeline.exec().catch((error: unknown) => batch.forEach((waiting) => waiting.reject(error)));

    const unknown: Waiting[] = [];
    let failed = false;
    await Promise.all(
      batch.map((waiting, i) =>
        replies[i].then(
          async (reply) => waiting.resolve([reply, !waiting.wrote(reply) || (await replicated)]),
          (error: Error) => {
            if (command === 'evalsha' && error.message.startsWith('NOSCRIPT'))
              unknown.push(waiting);
            else {
              failed = true;
              waiting.reject(error);
            }
          },
        ),
      ),
    );
    if (failed) this.relearnSlots();
    if (unknown.length > 0) await this.send(primary, unknown, 'eval');
  }

  /**
   * After a redirect, a closed connection or a primary with none: a Cluster's own commands
   * would make it read the slot table again, and these batches bypass them (no periodic
   * refresh by default); without it, first uses would go to a dead primary until a replay or
   * an issuance met a redirect.
   */
  private relearnSlots(): void {
    if (this.redis.isCluster) (this.redis as Cluster).refreshSlotsCache();
  }

  /**
   * The client itself on a single Redis; on a Cluster, its connection to `primary`, absent while
   * a failover has it dropped and its slots not yet moved.
   */
  private connectionTo(primary: string): Redis | undefined {
    if (!this.redis.isCluster) return this.redis as Redis;
    return (this.redis as Cluster)
      .nodes('master')
      .find(({ options }) => `${options.host}:${options.port}` === primary);
  }

  /** Which primary holds `key`: its address from the Cluster's slot table; `''` on a single Redis. */
  private primaryOf(key: string): string {
    return this.redis.isCluster
      ? ((this.redis as Cluster).slots[calculateSlot(key)]?.[0] ?? '')
      : '';
  }
}
