import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
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

type PipelineResults = [Error | null, unknown][] | null;

interface Waiting {
  call: ScriptCall;
  resolve(answer: [reply: unknown, replicated: boolean]): void;
  reject(error: unknown): void;
}

/**
 * Scripts whose writes count only once replicas have them: each goes with a `WAIT replicas
 * timeout` behind it on the same connection, so the WAIT counts the replicas that hold its
 * writes. A WAIT blocks its connection until the replicas answer, so one per script would queue
 * each script behind the one before (measured: first uses at half their speed); instead the
 * scripts of one turn of the event loop to one primary go in one pipeline with one WAIT behind
 * them all: one write, one node (on a Cluster, the primary of their slots, from ioredis' slot
 * table; a redirect fails the pipeline, never moves a script away from its WAIT).
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
    private readonly replication: Replication,
    /** Runs a script alone, without a WAIT. */
    private readonly runAlone: (call: ScriptCall) => Promise<unknown>,
  ) {}

  /** The script's reply, and whether the replicas have its writes (not asked while they are behind). */
  run(call: ScriptCall): Promise<[reply: unknown, replicated: boolean]> {
    const primary = this.primaryOf(call[1] as string);
    if ((this.behindUntil.get(primary) ?? 0) > Date.now())
      return this.runAlone(call).then((reply) => [reply, false]);
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
    return new Promise((resolve, reject) => waiting.push({ call, resolve, reject }));
  }

  private async send(primary: string, batch: Waiting[], command: 'evalsha' | 'eval') {
    const { replicas, timeoutMs } = this.replication;
    const pipeline = this.redis.pipeline();
    for (const { call } of batch) {
      const [script, ...keysAndArgs] = call;
      // A script of `null` keys has its key count first among the caller's arguments.
      const args = (
        script.numberOfKeys === null ? keysAndArgs : [script.numberOfKeys, ...keysAndArgs]
      ) as [number, ...(string | number)[]];
      pipeline[command](command === 'evalsha' ? script.sha1 : script.lua, ...args);
    }
    pipeline.wait(replicas, timeoutMs);
    let results: PipelineResults;
    try {
      results = await pipeline.exec();
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    const [waitError, acknowledged] = results?.[batch.length] ?? [new Error('no answer')];
    const replicated = !waitError && Number(acknowledged) >= replicas;
    if (replicated) this.behindUntil.delete(primary);
    else this.behindUntil.set(primary, Date.now() + REPLICAS_BEHIND_MS);
    const unknown: Waiting[] = [];
    batch.forEach((waiting, i) => {
      const [error, reply] = results?.[i] ?? [new Error('no answer')];
      if (error?.message.startsWith('NOSCRIPT') && command === 'evalsha') unknown.push(waiting);
      else if (error) waiting.reject(error);
      else waiting.resolve([reply, replicated]);
    });
    if (unknown.length > 0) await this.send(primary, unknown, 'eval');
  }

  /** Which primary holds `key`: its address from the Cluster's slot table; `''` on a single Redis. */
  private primaryOf(key: string): string {
    return this.redis.isCluster
      ? ((this.redis as Cluster).slots[calculateSlot(key)]?.[0] ?? '')
      : '';
  }
}
