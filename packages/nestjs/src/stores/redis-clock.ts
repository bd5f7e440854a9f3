import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';

/** How often the offset is measured again while in use: bounds how long a step of Redis' clock goes unseen. */
const REFRESH_MS = 60_000;

/**
 * Converts this process's monotonic clock (`performance.now()`) to Redis' clock (`TIME`, ms
 * since the epoch), so a script can tell by its own clock whether the caller has given up.
 *
 * The offset is a lower bound: Redis read its clock somewhere between sending `TIME` and its
 * answer, so `redisTime - answeredAt` is never more than the true offset, whatever the round
 * trip took. A deadline converted with it falls no later, by Redis' clock, than the moment the
 * caller gives up. On a Cluster it is the smallest over the masters, so it holds on each of
 * them. Measured on every `ready` (a new connection may be a new server after a failover) and
 * again when it is older than a minute, in the background; never on a request's path except
 * the first after a connection, while no offset is known yet.
 */
export class RedisClock {
  private offsetMs?: number;
  private measuredAt = -Infinity;
  private measuring?: Promise<number>;

  constructor(private readonly redis: Redis | Cluster) {
    redis.on('ready', () => void this.measure().catch(() => undefined));
    if (redis.status === 'ready') void this.measure().catch(() => undefined);
  }

  /**
   * Redis' clock, in ms since the epoch, at this process's `performance.now()` value `at`: a
   * number once the offset is known (every request but the first after a connection), so the
   * request path awaits nothing for it.
   */
  toRedisTime(at: number): number | Promise<number> {
    if (this.offsetMs === undefined) return this.measure().then((offset) => at + offset);
    if (performance.now() - this.measuredAt > REFRESH_MS)
      void this.measure().catch(() => undefined);
    return at + this.offsetMs;
  }

  private measure(): Promise<number> {
    this.measuring ??= this.offsetOfSlowestMaster().finally(() => (this.measuring = undefined));
    return this.measuring;
  }

  private async offsetOfSlowestMaster(): Promise<number> {
    // By shape, not instanceof: an app may hold another copy of ioredis.
    const nodes = this.redis.isCluster
      ? (this.redis as Cluster).nodes('master')
      : [this.redis as Redis];
    const offsets = await Promise.all(nodes.map(offsetOf));
    if (offsets.length === 0) throw new Error('no Redis master to read the clock of');
    this.offsetMs = Math.min(...offsets);
    this.measuredAt = performance.now();
    return this.offsetMs;
  }
}

async function offsetOf(node: Redis): Promise<number> {
  const [seconds, micros] = (await node.time()).map(Number);
  return seconds * 1000 + Math.floor(micros / 1000) - performance.now();
}
