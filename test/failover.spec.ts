import { afterEach, describe, expect, it } from '@jest/globals';
import { createRedisClient } from '@idempotency-tokens/nestjs';
import { type Cluster, Redis } from 'ioredis';
import request from 'supertest';
import { Gate, ScenariosModule } from './fixtures/scenarios.module.js';
import {
  CapturingLogger,
  fetchToken,
  placeOrder,
  type RunningApp,
  sleep,
  startModule,
  startService,
} from './support/app-harness.js';
import { parseInfo, type RedisClusterHandle, startRedisCluster } from './support/redis-harness.js';
import {
  type SentinelGroupHandle,
  stallReplication,
  startSentinelGroup,
} from './support/redis-replication-harness.js';

/** Tokens per failover: enough for a burst with copies, few enough to keep the suite short. */
const TOKENS = 24;
const REPLICA_TIMEOUT_MS = 500;
/**
 * Lease of a first use: an outcome lost with the primary shows its copies "in progress" this
 * long, then `TOKEN_USED`; an undo the failover held up is retried this long, so it must outlast
 * a failover (about 3 s here) with room for a loaded machine.
 */
const LEASE_SECONDS = 10;
/** How long a client keeps sending a request that gets 503, no answer, or "in progress". */
const RETRY_FOR_MS = 25_000;

/** A replicated Redis the scenario can fail over: Sentinel, or the tokens' shard of a Cluster. */
interface Topology {
  client: Redis | Cluster;
  /** The port of the primary that holds the caller's tokens, and of its replica. */
  shard(): Promise<{ primary: number; replica: number }>;
  kill(port: number): Promise<void>;
  /** Starts the killed primary again as a replica of the promoted one. */
  rejoin(oldPrimary: number, promoted: number): Promise<void>;
  pause(port: number): void;
  resume(port: number): void;
  waitForFailover(oldPrimary: number): Promise<number>;
  stop(): Promise<void>;
}

interface Answer {
  status: number;
  code?: string;
  replayed: boolean;
  id?: string;
}

interface Report {
  /** Request ids whose handler ran more than once. */
  ranTwice: string[];
  /** Request ids whose handler never ran, although the client kept sending. */
  neverRan: string[];
  /** Each request's answers before the failover, and the answer the client ended with after it. */
  before: Map<string, Answer[]>;
  after: Map<string, Answer>;
  /** Outcomes written to the primary that its replica did not acknowledge (logged). */
  unreplicatedOutcomes: number;
}

/**
 * One failover under load, as a client sees it: tokens issued and replicated; first uses (and,
 * mid-burst, copies) sent; the primary SIGKILLed; the replica promoted; then every request sent
 * again with its token until it gets an answer other than 503, as the client package does.
 *
 * `stalled`: the replica is stopped and its link filled before the first uses, so none of them
 * reaches it: the window in which asynchronous replication loses writes, made certain.
 * `mid-burst`: the kill lands while first uses and copies are in flight, wherever it falls.
 */
async function failover(
  topology: Topology,
  { minReplicas, window }: { minReplicas: 0 | 1; window: 'stalled' | 'mid-burst' },
): Promise<Report> {
  const logger = new CapturingLogger();
  const app = await startModule(
    ScenariosModule.forRoot({
      redis: topology.client,
      minReplicas,
      replicaTimeoutMs: REPLICA_TIMEOUT_MS,
      inProgressTtlSeconds: LEASE_SECONDS,
      limits: { rateLimit: 10_000, maxOutstanding: 10_000 },
    }),
    { logger },
  );
  try {
    const gate = app.app.get(Gate);
    const ids = Array.from({ length: TOKENS }, (_, i) => `request-${i}`);
    const tokens = new Map<string, string>();
    for (const id of ids) tokens.set(id, await fetchTokenWith(app));
    const { primary, replica } = await topology.shard();
    await caughtUp(primary, replica);

    const before = new Map<string, Answer[]>(ids.map((id) => [id, []]));
    const send = async (id: string) => before.get(id)!.push(await post(app, tokens.get(id)!, id));
    if (window === 'stalled') {
      await stallReplication(topology, primary, replica);
      await Promise.all(ids.map(send));
      await topology.kill(primary);
      topology.resume(replica);
    } else {
      // Each request with two copies, the requests one after another in groups of four; the
      // primary dies once a third of them have been sent.
      const burst = (async () => {
        for (let i = 0; i < ids.length; i += 4)
          await Promise.all(ids.slice(i, i + 4).flatMap((id) => [send(id), send(id), send(id)]));
      })();
      while (before.get(ids[Math.floor(TOKENS / 3)])!.length === 0) await sleep(5);
      await topology.kill(primary);
      await burst;
    }
    const promoted = await topology.waitForFailover(primary);
    if (minReplicas > 0) {
      // The dead primary comes back, as an operator brings a server back, as the promoted one's
      // replica: until then the promoted primary has none, and minReplicas 1 answers 503.
      await topology.rejoin(primary, promoted);
      await replicaOnline(promoted);
    }

    const after = new Map<string, Answer>();
    await Promise.all(
      ids.map(async (id) => after.set(id, await sendUntilAnswered(app, tokens.get(id)!, id))),
    );
    const runs = (id: string) => gate.runsOf.get(id) ?? 0;
    return {
      ranTwice: ids.filter((id) => runs(id) > 1),
      neverRan: ids.filter((id) => runs(id) === 0),
      before,
      after,
      unreplicatedOutcomes: logger.lines.filter((line) => line.includes('Outcome write failed'))
        .length,
    };
  } finally {
    await app.close();
  }
}

/** Waits until the replica has applied everything the primary had written when asked. */
async function caughtUp(primary: number, replica: number): Promise<void> {
  const written = Number(field(await info(primary), 'master_repl_offset'));
  const until = Date.now() + 10_000;
  while (Number(field(await info(replica), 'slave_repl_offset')) < written) {
    if (Date.now() > until) throw new Error(`Replica ${replica} did not catch up with ${primary}`);
    await sleep(50);
  }
}

/** Waits until the primary has a replica online (synced and acknowledging). */
async function replicaOnline(primary: number): Promise<void> {
  const until = Date.now() + 20_000;
  while (!/slave0:.*state=online/.test(await info(primary))) {
    if (Date.now() > until) throw new Error(`No replica came online for ${primary}`);
    await sleep(100);
  }
}

const info = (port: number) => command(port, 'INFO', 'replication') as Promise<string>;

/** One command to the server on `port`, on a connection of its own. */
async function command(port: number, ...args: string[]): Promise<unknown> {
  const direct = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await direct.connect();
    return await direct.call(args[0], ...args.slice(1));
  } finally {
    direct.disconnect();
  }
}

const field = (text: string, name: string) => parseInfo(text).get(name) ?? '-1';

async function fetchTokenWith(app: RunningApp): Promise<string> {
  const response = await request(app.url).get('/tokens');
  expect(response.status).toBe(200);
  return response.body.token as string;
}

async function post(app: RunningApp, token: string, id: string): Promise<Answer> {
  try {
    const response = await request(app.url)
      .post('/scenarios/counted')
      .set('Idempotency-Token', token)
      .send({ id })
      .timeout(10_000);
    return {
      status: response.status,
      code: response.body?.code,
      replayed: response.headers['idempotent-replayed'] === 'true',
      id: response.body?.id,
    };
  } catch {
    return { status: 0, replayed: false }; // no answer: the client would send again
  }
}

/** Sends the same request with the same token again while the answer says to (503, none, in progress). */
async function sendUntilAnswered(
  app: RunningApp,
  token: string,
  id: string,
  forMs = RETRY_FOR_MS,
): Promise<Answer> {
  const until = Date.now() + forMs;
  for (;;) {
    const answer = await post(app, token, id);
    const again =
      answer.status === 503 || answer.status === 0 || answer.code === 'REQUEST_IN_PROGRESS';
    if (!again || Date.now() > until) return answer;
    await sleep(200);
  }
}

/**
 * What `minReplicas: 1` promises across a failover: no handler ran twice; every request ran
 * once (the client kept sending, so each one either had its first use acknowledged or got 503
 * and later ran as a first use); and the client ends with the handler's answer: the first one,
 * replayed, or the one a later first use gave. An outcome whose write the failover cut is
 * written again on the promoted primary (its claim was there before the handler ran), so its
 * copies are told "in progress" meanwhile, never `TOKEN_USED` or "nothing ran".
 */
function expectExactlyOnce(report: Report): void {
  expect(report.ranTwice).toEqual([]);
  expect(report.neverRan).toEqual([]);
  for (const [id, answer] of report.after)
    expect({ id, status: answer.status, body: answer.id }).toEqual({ id, status: 201, body: id });
}

/** What the clients saw, counted: how much of the burst the kill cut, and how it ended. */
function summary({ before, after, unreplicatedOutcomes }: Report): string {
  const count = (answers: Answer[]) => {
    const counts = new Map<string, number>();
    for (const { status, replayed } of answers) {
      const kind = status === 0 ? 'no answer' : `${status}${replayed ? ' replayed' : ''}`;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    return [...counts].map(([kind, n]) => `${n}× ${kind}`).join(', ');
  };
  return `before the failover ${count([...before.values()].flat())}; after it ${count([...after.values()])}; outcomes not replicated: ${unreplicatedOutcomes}`;
}

/** A Cluster of three primaries with a replica each, 1 s node time-out: failovers take seconds. */
async function startClusterTopology(): Promise<Topology> {
  const cluster: RedisClusterHandle = await startRedisCluster({
    replicasPerPrimary: 1,
    nodeTimeoutMs: 1_000,
  });
  const client = createRedisClient({ cluster: cluster.nodes }) as Cluster;
  // Every token of one caller shares its hash tag, so one slot, so one shard.
  let slot = -1;
  return {
    client,
    shard: async () => {
      for (const node of client.nodes('master')) {
        const [key] = await node.keys('idem:*:h:*');
        if (key) slot = Number(await node.cluster('KEYSLOT', key));
      }
      const primary = await cluster.primaryOfSlot(slot);
      return { primary, replica: (await cluster.replicasOf(primary))[0] };
    },
    kill: (port) => cluster.kill(port),
    // From its nodes.conf it learns that its slots moved and follows their new owner.
    rejoin: (old) => cluster.restart(old),
    pause: (port) => cluster.pause(port),
    resume: (port) => cluster.resume(port),
    waitForFailover: (old) => cluster.waitForFailover(slot, old),
    stop: async () => {
      client.disconnect();
      await cluster.stop();
    },
  };
}

const topologies: [string, () => Promise<Topology>][] = [
  [
    'Sentinel (a primary, one replica, three sentinels)',
    async () => {
      const group: SentinelGroupHandle = await startSentinelGroup();
      const client = createRedisClient({ sentinels: group.sentinels, name: group.name });
      return {
        client,
        shard: async () => ({ primary: await group.primaryPort(), replica: group.nodes[1] }),
        kill: (port) => group.kill(port),
        // What the sentinels would do to a returning old primary, without waiting for their
        // next look at it (up to 10 s).
        rejoin: async (old, promoted) => {
          await group.restart(old);
          await command(old, 'REPLICAOF', '127.0.0.1', String(promoted));
        },
        pause: (port) => group.pause(port),
        resume: (port) => group.resume(port),
        waitForFailover: (old) => group.waitForFailover(old),
        stop: async () => {
          client.disconnect();
          await group.stop();
        },
      };
    },
  ],
  ['Cluster (three primaries, one replica each; the tokens’ primary dies)', startClusterTopology],
];

describe.each(topologies)('failover on %s', (_name, start) => {
  let topology: Topology | undefined;
  afterEach(async () => {
    await topology?.stop();
    topology = undefined;
  });

  it('minReplicas 1: no handler runs twice when the replica never got the first uses', async () => {
    topology = await start();
    const report = await failover(topology, { minReplicas: 1, window: 'stalled' });
    // Every first use waited for the stopped replica, was undone and answered 503 ...
    for (const answers of report.before.values())
      expect(answers.map((a) => a.status)).toEqual([503]);
    // ... and ran once after the failover, as a first use.
    expectExactlyOnce(report);
  }, 60_000);

  it('minReplicas 0: the same failover runs handlers twice (the test sees the problem)', async () => {
    topology = await start();
    const report = await failover(topology, { minReplicas: 0, window: 'stalled' });
    for (const answers of report.before.values())
      expect(answers.map((a) => a.status)).toEqual([201]);
    // The promoted replica never had the consumes: every token was unused again.
    expect(report.ranTwice.length).toBeGreaterThan(0);
    console.log(`minReplicas 0: ${report.ranTwice.length} of ${TOKENS} handlers ran twice`);
  }, 60_000);

  it('minReplicas 1: primary killed mid-burst, copies before and after: every request ran once', async () => {
    topology = await start();
    const report = await failover(topology, { minReplicas: 1, window: 'mid-burst' });
    console.log(`mid-burst: ${summary(report)}`);
    expectExactlyOnce(report);
  }, 60_000);
});

/** The service configured for Sentinel (docs/CONTRACT.md, Configuration): it follows the failover. */
describe('the service on Sentinel', () => {
  it('serves through the primary the sentinels name, and follows a failover by itself', async () => {
    const group = await startSentinelGroup();
    const service = await startService({
      REDIS_SENTINELS: group.sentinels.map(({ host, port }) => `${host}:${port}`).join(','),
      REDIS_SENTINEL_NAME: group.name,
      REDIS_MIN_REPLICAS: '1',
    });
    try {
      const primary = await group.primaryPort();
      const health = await request(service.url).get('/health');
      expect(health.status).toBe(200);
      expect(JSON.stringify(health.body)).toContain(`"primary":"127.0.0.1:${primary}"`);
      const token = await fetchToken(service.url, { scope: 'orders.create' });
      const first = await placeOrder(service.url, token);
      expect(first.status).toBe(201);

      await group.kill(primary);
      const promoted = await group.waitForFailover(primary);
      let answer = await placeOrder(service.url, token);
      for (const until = Date.now() + 10_000; answer.status === 503 && Date.now() < until;) {
        await sleep(200);
        answer = await placeOrder(service.url, token);
      }
      // The order's outcome was on the replica before its answer left: replayed, not run again.
      expect(answer.status).toBe(201);
      expect(answer.headers['idempotent-replayed']).toBe('true');
      expect(answer.body.id).toBe(first.body.id);
      const after = await request(service.url).get('/health');
      expect(JSON.stringify(after.body)).toContain(`"primary":"127.0.0.1:${promoted}"`);
    } finally {
      await service.close();
      await group.stop();
    }
  }, 60_000);
});

/**
 * The client's own retries: ioredis' Cluster sends a command or pipeline again by itself when
 * its connection closes. A claim whose connection closed was answered 503 and undone; sent
 * again behind that answer, it would consume the token for a request nobody runs.
 */
describe('a first use whose connection closes, on Cluster with minReplicas 1', () => {
  it('is not sent again behind its 503: the token works as a first use, once', async () => {
    const topology = await startClusterTopology();
    const app = await startModule(
      ScenariosModule.forRoot({ redis: topology.client, minReplicas: 1, replicaTimeoutMs: 500 }),
    );
    try {
      const token = await fetchTokenWith(app);
      const { primary, replica } = await topology.shard();
      await caughtUp(primary, replica);

      // The claim reaches the primary and waits there (writes paused); its connection then closes.
      await command(primary, 'CLIENT', 'PAUSE', '3000', 'WRITE');
      const lost = post(app, token, 'lost');
      await sleep(300);
      await command(primary, 'CLIENT', 'KILL', 'TYPE', 'normal');
      expect((await lost).status).toBe(503);
      await command(primary, 'CLIENT', 'UNPAUSE');

      const answer = await sendUntilAnswered(app, token, 'lost');
      expect({ status: answer.status, replayed: answer.replayed }).toEqual({
        status: 201,
        replayed: false,
      });
      expect(app.app.get(Gate).runsOf.get('lost')).toBe(1);
    } finally {
      await app.close();
      await topology.stop();
    }
  }, 60_000);
});

/**
 * First uses with minReplicas go to their slot's primary as ioredis' slot table names it, in
 * pipelines of their own: not through the Cluster's commands, which read the table again after a
 * redirect, and ioredis reads it on no schedule of its own. When a slot moves (an operator
 * reshards), the first claim sent to the old primary is redirected (MOVED), answered 503 with
 * nothing consumed, and must have the table read again; else every later first use in that slot
 * meets the same redirect until some other command happens to.
 */
describe('first uses after their slot moved to another primary, on Cluster with minReplicas 1', () => {
  it('follow the slot with no other command in between: the first redirect has the slot table read again', async () => {
    const topology = await startClusterTopology();
    const app = await startModule(
      ScenariosModule.forRoot({
        redis: topology.client,
        minReplicas: 1,
        replicaTimeoutMs: REPLICA_TIMEOUT_MS,
      }),
    );
    try {
      const tokens: string[] = [];
      for (let i = 0; i < 3; i++) tokens.push(await fetchTokenWith(app));
      const { primary } = await topology.shard();
      const [held] = (await command(primary, 'KEYS', 'idem:*:h:*')) as string[];
      const slot = Number(await command(primary, 'CLUSTER', 'KEYSLOT', held));
      const masters = (topology.client as Cluster)
        .nodes('master')
        .map(({ options }) => options.port!);
      await moveSlot(
        slot,
        primary,
        masters.find((port) => port !== primary)!,
        masters,
      );

      // Only first uses from here, one at a time. The first meets the old primary's redirect;
      // then each is sent until answered (a replica ioredis asks may not have heard of the move
      // yet). Without the table read again, all of them would stay 503 to the end.
      const redirected = await post(app, tokens[0], 'moved-0');
      expect(redirected.status).toBe(503);
      const answers: Answer[] = [];
      for (const [i, token] of tokens.entries())
        answers.push(await sendUntilAnswered(app, token, `moved-${i}`, 5_000));
      expect(answers.map(({ status, replayed }) => ({ status, replayed }))).toEqual(
        Array.from({ length: 3 }, () => ({ status: 201, replayed: false })),
      );
      const gate = app.app.get(Gate);
      expect([0, 1, 2].map((i) => gate.runsOf.get(`moved-${i}`))).toEqual([1, 1, 1]);
    } finally {
      await app.close();
      await topology.stop();
    }
  }, 60_000);
});

/** Moves `slot` and its keys from the primary on `from` to the one on `to`, as a resharding does. */
async function moveSlot(slot: number, from: number, to: number, masters: number[]) {
  const idOf = async (port: number) => String(await command(port, 'CLUSTER', 'MYID'));
  const [fromId, toId] = await Promise.all([idOf(from), idOf(to)]);
  await command(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
  await command(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
  const keys = (await command(from, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')) as string[];
  await command(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
  // The new owner first, then every other primary, so that whichever node ioredis asks knows.
  for (const port of [to, ...masters.filter((port) => port !== to)])
    await command(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
}
