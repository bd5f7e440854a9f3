import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';

/** What to do about a Redis that may evict keys; see `IdempotencyModuleOptions.evictionCheck`. */
export interface EvictionCheckOptions {
  /**
   * `'refuse'`: the app does not start on such a Redis (found later, on a reconnect, it is
   * logged as an error); `'warn'`: a warning. Default `'refuse'` under `NODE_ENV=production`,
   * else `'warn'`.
   */
  onEvicting?: 'refuse' | 'warn';
  /** How an operator of your app accepts eviction, named in the refusal. Default: this option. */
  acceptWith?: string;
}

/** One master's `maxmemory-policy`, or why it could not be read. */
interface PolicyReading {
  node: string;
  policy?: string;
  unreadable?: string;
}

/** How long the start-up check waits for a connecting client, and for each master's answer. */
const WAIT_MS = 5_000;
const SAFE_POLICY = 'noeviction';

/**
 * Reads Redis' `maxmemory-policy` when the app starts and on every reconnect (a reconnect may
 * reach another server, or one whose configuration changed), on every master of a Cluster.
 * Anything but `noeviction` lets Redis evict stored outcomes under memory pressure, and copies
 * of a finished request would then be told `TOKEN_UNKNOWN` ("nothing ran"). A Redis that hides
 * `CONFIG` (managed services often rename it) is logged as unreadable: the operator must check.
 */
export class RedisEvictionCheck implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Idempotency');
  private readonly onEvicting: 'refuse' | 'warn';
  private readonly acceptWith: string;
  private readonly unwatch: (() => void)[] = [];

  constructor(
    private readonly redis: Redis | Cluster,
    options: EvictionCheckOptions = {},
  ) {
    this.onEvicting =
      options.onEvicting ?? (process.env.NODE_ENV === 'production' ? 'refuse' : 'warn');
    this.acceptWith =
      options.acceptWith ?? "the module option evictionCheck: { onEvicting: 'warn' }";
  }

  /** @throws when the policy can evict and `onEvicting` is `'refuse'`: the app must not start. */
  async onModuleInit(): Promise<void> {
    if (await whenReady(this.redis)) this.report(await this.read(masters(this.redis)), true);
    else this.logger.warn('Redis not ready: its maxmemory-policy is checked when it connects');
    this.watchReconnects();
  }

  onApplicationShutdown(): void {
    for (const stop of this.unwatch.splice(0)) stop();
  }

  /** A single client reconnects itself; a Cluster makes a new client per node (`+node`). */
  private watchReconnects(): void {
    const { redis } = this;
    const checkNode = (node: Redis) => () => {
      if (redis instanceof Cluster && !redis.nodes('master').includes(node)) return;
      void this.read([node]).then((readings) => this.report(readings, false));
    };
    const watch = (node: Redis) => this.listen(node, 'ready', checkNode(node));
    if (redis instanceof Cluster) {
      redis.nodes('all').forEach(watch);
      this.listen(redis, '+node', watch);
    } else watch(redis);
  }

  private listen<T>(emitter: Redis | Cluster, event: string, listener: (arg: T) => void): void {
    emitter.on(event, listener);
    this.unwatch.push(() => emitter.off(event, listener));
  }

  private read(nodes: Redis[]): Promise<PolicyReading[]> {
    return Promise.all(
      nodes.map(async (node) => {
        const name = nameOf(node);
        try {
          const reply = await withTimeout(node.config('GET', 'maxmemory-policy'));
          const policy = (reply as string[])[1];
          return policy ? { node: name, policy } : { node: name, unreadable: 'no value' };
        } catch (error) {
          return { node: name, unreadable: (error as Error).message.trim() };
        }
      }),
    );
  }

  private report(readings: PolicyReading[], atStart: boolean): void {
    for (const { node, unreadable } of readings) {
      if (unreadable !== undefined)
        this.logger.warn(
          `Could not read the maxmemory-policy of Redis ${node} (${unreadable}): make sure it is ${SAFE_POLICY}, or stored outcomes can be evicted`,
        );
    }
    const evicting = readings.filter(({ policy }) => policy && policy !== SAFE_POLICY);
    if (evicting.length === 0) return;
    const found = evicting
      .map(({ node, policy }) => `Redis ${node} has maxmemory-policy ${policy}`)
      .join('; ');
    const risk = `${found}: it may evict stored outcomes, and copies of a finished request would then be told that nothing ran (TOKEN_UNKNOWN). Set maxmemory-policy ${SAFE_POLICY}`;
    if (this.onEvicting === 'warn') this.logger.warn(`${risk}.`);
    else if (atStart)
      throw new Error(`Refusing to start: ${risk}, or accept eviction with ${this.acceptWith}.`);
    else this.logger.error(`${risk}; this app would refuse to start on it.`);
  }
}

/** Every master of a Cluster (each holds a share of the tokens), or the one Redis. */
function masters(redis: Redis | Cluster): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

function nameOf(node: Redis): string {
  const { host, port, path } = node.options;
  return path ?? `${host}:${port}`;
}

/**
 * Resolves `true` once `redis` is ready; `false` at once when it has already failed to connect
 * (an app starts while Redis is down, and is not to wait for it twice), else after {@link WAIT_MS}.
 */
async function whenReady(redis: Redis | Cluster): Promise<boolean> {
  if (redis.status === 'ready') return true;
  if (redis.status !== 'connecting' && redis.status !== 'connect') return false;
  let listener: (() => void) | undefined;
  const ready = await withTimeout(
    new Promise<boolean>((resolve) => redis.once('ready', (listener = () => resolve(true)))),
  ).catch(() => false);
  redis.off('ready', listener!);
  return ready;
}

/** A Redis client without a `commandTimeout` would wait forever for a node that is down. */
async function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${WAIT_MS} ms`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
