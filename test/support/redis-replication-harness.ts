/**
 * Replicated Redis for failover tests: a Sentinel group (a master, its replicas and the
 * redis-sentinel processes that watch them), and stallReplication(), which opens a window in
 * which a master acknowledges writes its replica will never receive. Redis Cluster with
 * replicas is startRedisCluster({ replicasPerPrimary: 1 }) in redis-harness.ts.
 *
 * Same rules as redis-harness.ts: only Node built-ins, every child tracked and killed when Node
 * exits, temp dirs removed.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  controlNodes,
  FAILOVER_TIMEOUT_MS,
  getFreePort,
  HOST,
  killServer,
  launchRedisProcess,
  launchRedisServer,
  logTail,
  makeTempDir,
  parseClusterNodes,
  parseInfo,
  redisCli,
  RedisExitedDuringStartup,
  removeTempDir,
  type RunningServer,
  waitForReplicasLinked,
  waitUntil,
} from './redis-harness.js';

export interface SentinelGroupHandle {
  /** The sentinels' addresses (for ioredis `sentinels` / REDIS_SENTINELS). */
  sentinels: { host: '127.0.0.1'; port: number }[];
  /** The monitored master's name (for ioredis `name` / REDIS_SENTINEL_NAME). */
  name: string;
  /** Ports of the data nodes as started: [primary, ...replicas]. */
  nodes: number[];
  /** The primary's port as the sentinels name it now (SENTINEL get-master-addr-by-name). */
  primaryPort(): Promise<number>;
  /** SIGKILL a data node; resolves once its port refuses connections. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port (see NodeControls.restart). */
  restart(port: number): Promise<void>;
  /** SIGSTOP a data node: it keeps its sockets but answers nothing. */
  pause(port: number): void;
  /** SIGCONT a data node paused by pause(). */
  resume(port: number): void;
  /**
   * Resolves with the new primary's port once a majority of sentinels name a primary other than
   * `oldPort` AND that server answers ROLE as master. Rejects after `timeoutMs` (default 20 s)
   * with the sentinels' answers and their logs' tails.
   */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Kills everything (data nodes and sentinels) and removes the temp dir. */
  stop(): Promise<void>;
}

export interface SentinelGroupOptions {
  /** Replicas of the primary; default 1. */
  replicas?: number;
  /** Sentinels; default 3 (quorum and election majority 2). */
  sentinels?: number;
  /** `sentinel down-after-milliseconds`; default 1000. */
  downAfterMs?: number;
  /**
   * `sentinel failover-timeout`; default 10000. Besides bounding a failover, it makes a sentinel
   * that lost (or split) a leader election wait 2 × this before it tries again.
   */
  failoverTimeoutMs?: number;
}

const SENTINEL_NAME = 'harness-primary';
const SENTINEL_READY_TIMEOUT_MS = 20_000;
const CLI_POLL_TIMEOUT_MS = 2_000;

/** A data node with persistence off on a free port, retrying if another process wins the port. */
async function launchDataNode(dir: string, args: string[]): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchRedisServer(await getFreePort(), dir, args);
    } catch (err) {
      if (!(err instanceof RedisExitedDuringStartup) || attempt >= 3) throw err;
    }
  }
}

interface SentinelPlan {
  port: number;
  /** What the sentinel calls itself (`sentinel myid`): 40 hex characters. */
  id: string;
}

/**
 * A sentinel needs a config file of its own that it can rewrite (it records what it learns
 * there). Left alone, sentinels find each other through hello messages published every 2 s, which
 * made up ~2.2 s of a 2.5 s startup; so each config already names the other sentinels and the
 * replicas (`known-sentinel`, `known-replica`: the lines a sentinel writes itself once it has
 * met them). Readiness is still checked on live links (waitForSentinelsReady).
 */
function writeSentinelConfig(
  dir: string,
  self: SentinelPlan,
  group: SentinelPlan[],
  primaryPort: number,
  replicaPorts: number[],
  quorum: number,
  { downAfterMs, failoverTimeoutMs }: Required<SentinelGroupOptions>,
): { configFile: string; logFile: string } {
  const configFile = join(dir, `sentinel-${self.port}.conf`);
  const logFile = join(dir, `sentinel-${self.port}.log`);
  writeFileSync(
    configFile,
    [
      `port ${self.port}`,
      `bind ${HOST}`,
      'protected-mode no',
      `dir "${dir}"`,
      `logfile "${logFile}"`,
      `sentinel myid ${self.id}`,
      `sentinel monitor ${SENTINEL_NAME} ${HOST} ${primaryPort} ${quorum}`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} ${downAfterMs}`,
      `sentinel failover-timeout ${SENTINEL_NAME} ${failoverTimeoutMs}`,
      ...replicaPorts.map((port) => `sentinel known-replica ${SENTINEL_NAME} ${HOST} ${port}`),
      ...group
        .filter((other) => other !== self)
        .map(
          (other) => `sentinel known-sentinel ${SENTINEL_NAME} ${HOST} ${other.port} ${other.id}`,
        ),
      '',
    ].join('\n'),
  );
  return { configFile, logFile };
}

/**
 * All sentinels at once, since each config names the others' ports: if one loses its port to
 * another process, all are killed and started again on new ports. Pushes what runs to `running`
 * so that the caller's stop() kills it even if this throws.
 */
async function launchSentinels(
  dir: string,
  primaryPort: number,
  replicaPorts: number[],
  settings: Required<SentinelGroupOptions>,
  running: RunningServer[],
): Promise<void> {
  const quorum = Math.floor(settings.sentinels / 2) + 1;
  for (let attempt = 1; ; attempt++) {
    const group: SentinelPlan[] = [];
    for (let i = 0; i < settings.sentinels; i++) {
      let port = await getFreePort();
      while (group.some((planned) => planned.port === port)) port = await getFreePort();
      group.push({ port, id: randomBytes(20).toString('hex') });
    }
    const launches = await Promise.allSettled(
      group.map((self) => {
        const { configFile, logFile } = writeSentinelConfig(
          dir,
          self,
          group,
          primaryPort,
          replicaPorts,
          quorum,
          settings,
        );
        return launchRedisProcess('redis-sentinel', [configFile], self.port, logFile);
      }),
    );
    for (const launch of launches) if (launch.status === 'fulfilled') running.push(launch.value);
    const failed = launches.find((launch) => launch.status === 'rejected');
    if (!failed) return;
    if (!(failed.reason instanceof RedisExitedDuringStartup) || attempt >= 3) throw failed.reason;
    await Promise.all(running.splice(0).map(killServer));
  }
}

/**
 * SENTINEL replicas/sentinels/master replies as redis-cli prints them: one field name, then its
 * value, per line, every instance starting with `name`.
 */
function parseSentinelInstances(text: string): Map<string, string>[] {
  const lines = text.split('\n');
  const instances: Map<string, string>[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    if (lines[i] === 'name') instances.push(new Map());
    instances.at(-1)?.set(lines[i], lines[i + 1]);
  }
  return instances;
}

function sentinelCli(port: number, args: string[]): Promise<string> {
  return redisCli(['-h', HOST, '-p', String(port), 'sentinel', ...args], CLI_POLL_TIMEOUT_MS);
}

/**
 * A failover needs a quorum of sentinels connected to each other (they vote through those
 * links) and a replica that each of them has connected to and INFO'd recently: a sentinel never
 * promotes a replica it has no fresh INFO from (flags exactly `slave`, master-link-status ok).
 */
async function waitForSentinelsReady(
  sentinelPorts: number[],
  replicaPorts: number[],
): Promise<void> {
  const last = new Map<number, string>();
  const knowsEverything = async (port: number) => {
    try {
      const [master, replicas, sentinels] = await Promise.all([
        sentinelCli(port, ['master', SENTINEL_NAME]),
        sentinelCli(port, ['replicas', SENTINEL_NAME]),
        sentinelCli(port, ['sentinels', SENTINEL_NAME]),
      ]);
      last.set(port, `master:\n${master}replicas:\n${replicas}sentinels:\n${sentinels}`);
      const healthyReplicas = parseSentinelInstances(replicas).filter(
        (replica) =>
          replica.get('flags') === 'slave' &&
          replica.get('master-link-status') === 'ok' &&
          replicaPorts.includes(Number(replica.get('port'))),
      );
      const connectedSentinels = parseSentinelInstances(sentinels).filter(
        (sentinel) => sentinel.get('flags') === 'sentinel',
      );
      return (
        parseSentinelInstances(master)[0]?.get('flags') === 'master' &&
        healthyReplicas.length === replicaPorts.length &&
        connectedSentinels.length === sentinelPorts.length - 1
      );
    } catch (err) {
      last.set(port, (err as Error).message);
      return false;
    }
  };
  await waitUntil(
    async () => (await Promise.all(sentinelPorts.map(knowsEverything))).every(Boolean),
    SENTINEL_READY_TIMEOUT_MS,
    () =>
      `Sentinels ${sentinelPorts.join(', ')} did not all discover replicas ${replicaPorts.join(', ')} and each other within ${SENTINEL_READY_TIMEOUT_MS} ms:\n` +
      [...last].map(([port, text]) => `--- sentinel ${port}\n${text.trim()}`).join('\n'),
  );
}

/** The primary's port as one sentinel names it, or undefined if it does not answer. */
async function primaryNamedBy(sentinelPort: number): Promise<number | undefined> {
  try {
    const [, port] = (await sentinelCli(sentinelPort, ['get-master-addr-by-name', SENTINEL_NAME]))
      .trim()
      .split('\n');
    return Number(port) || undefined;
  } catch {
    return undefined;
  }
}

async function answersRoleMaster(port: number): Promise<boolean> {
  const role = await redisCli(['-h', HOST, '-p', String(port), 'role'], CLI_POLL_TIMEOUT_MS).catch(
    () => '',
  );
  return role.split('\n')[0] === 'master';
}

export async function startSentinelGroup(
  options: SentinelGroupOptions = {},
): Promise<SentinelGroupHandle> {
  const settings: Required<SentinelGroupOptions> = {
    replicas: 1,
    sentinels: 3,
    downAfterMs: 1_000,
    failoverTimeoutMs: 10_000,
    ...options,
  };
  const majority = Math.floor(settings.sentinels / 2) + 1;
  const dir = makeTempDir('redis-sentinel-');
  const dataNodes = new Map<number, RunningServer>();
  const sentinels: RunningServer[] = [];
  const controls = controlNodes(dataNodes);
  const stop = async () => {
    const running = [...dataNodes.values(), ...sentinels.splice(0)];
    dataNodes.clear();
    await Promise.all(running.map(killServer));
    removeTempDir(dir);
  };

  try {
    const primary = await launchDataNode(dir, []);
    dataNodes.set(primary.port, primary);
    // allSettled, not all: on a failure the processes that did start must still be stopped.
    const replicaLaunches = await Promise.allSettled(
      Array.from({ length: settings.replicas }, () =>
        launchDataNode(dir, ['--replicaof', HOST, String(primary.port)]),
      ),
    );
    for (const launch of replicaLaunches)
      if (launch.status === 'fulfilled') dataNodes.set(launch.value.port, launch.value);
    const failedReplica = replicaLaunches.find((launch) => launch.status === 'rejected');
    if (failedReplica) throw failedReplica.reason;
    const nodes = [...dataNodes.keys()];
    const replicaPorts = nodes.slice(1);
    // Before the sentinels start, so that their first INFO of each replica finds it in sync.
    await waitForReplicasLinked(replicaPorts, replicaPorts.length);

    await launchSentinels(dir, primary.port, replicaPorts, settings, sentinels);
    const sentinelPorts = sentinels.map((sentinel) => sentinel.port);
    await waitForSentinelsReady(sentinelPorts, replicaPorts);

    return {
      sentinels: sentinelPorts.map((port) => ({ host: HOST, port })),
      name: SENTINEL_NAME,
      nodes,
      kill: controls.kill,
      restart: controls.restart,
      pause: controls.pause,
      resume: controls.resume,
      stop,
      async primaryPort() {
        for (const port of sentinelPorts) {
          const named = await primaryNamedBy(port);
          if (named) return named;
        }
        throw new Error(`No sentinel of ${sentinelPorts.join(', ')} names a primary`);
      },
      async waitForFailover(oldPort, timeoutMs = FAILOVER_TIMEOUT_MS) {
        let named: (number | undefined)[] = [];
        let newPort = 0;
        await waitUntil(
          async () => {
            named = await Promise.all(sentinelPorts.map(primaryNamedBy));
            const votes = new Map<number, number>();
            for (const port of named)
              if (port && port !== oldPort) votes.set(port, (votes.get(port) ?? 0) + 1);
            const [leader] = [...votes].filter(([, count]) => count >= majority);
            if (!leader) return false;
            newPort = leader[0];
            return answersRoleMaster(newPort);
          },
          timeoutMs,
          () =>
            `Sentinels did not fail over from port ${oldPort} within ${timeoutMs} ms; they name ${JSON.stringify(named)}. Their logs:\n` +
            sentinels
              .map((sentinel) => `--- sentinel ${sentinel.port}\n${logTail(sentinel.logFile)}`)
              .join('\n'),
        );
        return newPort;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// A replication gap on demand
// ---------------------------------------------------------------------------

/** 32 MiB: several times what loopback TCP buffers hold while the reader is stopped, well under the default replica output buffer limits (soft 64 MiB for 60 s, hard 256 MiB). */
const DEFAULT_FILLER_BYTES = 32 * 1024 * 1024;

/** Sends one command as raw RESP (so a value can be a large Buffer) and resolves with the first line of the reply. */
function rawCommand(port: number, args: (string | Buffer)[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(new Error(`No reply from port ${port} within ${timeoutMs} ms`)),
    );
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.write(`*${args.length}\r\n`);
      for (const arg of args) {
        const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
        socket.write(`$${bytes.length}\r\n`);
        socket.write(bytes);
        socket.write('\r\n');
      }
    });
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      socket.destroy();
      resolve(reply.slice(0, end));
    });
  });
}

function cli(port: number, args: string[]): Promise<string> {
  return redisCli(['-h', HOST, '-p', String(port), ...args]);
}

/**
 * A key the primary itself serves: any key without Cluster; with Cluster, one whose slot the
 * primary owns (else the SET would only earn a MOVED).
 */
async function fillerKeyFor(primaryPort: number): Promise<string> {
  if (parseInfo(await cli(primaryPort, ['info', 'cluster'])).get('cluster_enabled') !== '1')
    return 'replication-stall-filler';
  const myself = parseClusterNodes(await cli(primaryPort, ['cluster', 'nodes'])).find((node) =>
    node.flags.includes('myself'),
  );
  for (let n = 0; n < 1_000; n++) {
    const key = `replication-stall-filler-${n}`;
    const slot = Number(await cli(primaryPort, ['cluster', 'keyslot', key]));
    if (myself?.slots.some(([from, to]) => slot >= from && slot <= to)) return key;
  }
  throw new Error(`Port ${primaryPort} owns no slot (is it a master?)`);
}

/** CLIENT LIST fields of each line. */
function parseClientList(text: string): Map<string, string>[] {
  return text
    .trim()
    .split('\n')
    .map(
      (line) => new Map(line.split(' ').map((field) => field.split('=', 2) as [string, string])),
    );
}

/**
 * The primary's connection to `replicaPort`, as the primary's CLIENT LIST id. The primary only
 * knows the replica's ephemeral address, so match it with the local address of the replica's
 * link to its master (flags=M in the replica's CLIENT LIST).
 */
async function replicaClientId(primaryPort: number, replicaPort: number): Promise<string> {
  const masterLink = parseClientList(await cli(replicaPort, ['client', 'list'])).find(
    (client) =>
      client.get('flags')?.includes('M') && client.get('addr') === `${HOST}:${primaryPort}`,
  );
  const link = parseClientList(await cli(primaryPort, ['client', 'list', 'type', 'replica'])).find(
    (client) => masterLink && client.get('addr') === masterLink.get('laddr'),
  );
  const id = link?.get('id');
  if (!id) throw new Error(`Port ${replicaPort} is not a connected replica of port ${primaryPort}`);
  return id;
}

/**
 * Opens a replication gap: SIGSTOPs `replicaPort` (through `nodes.pause`, so the handle knows)
 * and writes one large filler value to `primaryPort`. The replication stream then backs up: the
 * kernel's socket buffers fill with the start of the filler, the rest waits in the primary's
 * output buffer, and every write the primary acknowledges from now on queues behind it. Kill the
 * primary, then `nodes.resume(replicaPort)`: the replica never sees those writes.
 *
 * Redis 7 replicates commands verbatim, so the value itself must be large (a SETRANGE far out
 * would replicate as a few bytes). Resolves once the primary's output buffer for the replica
 * holds at least half the filler, which proves the stream is stuck. Costs about 2 × the filler
 * in the primary's memory (the key and its buffered copy). Keep later writes small: the replica
 * is disconnected if its buffer exceeds 64 MiB for 60 s or 256 MiB at once.
 */
export async function stallReplication(
  nodes: { pause(port: number): void },
  primaryPort: number,
  replicaPort: number,
  { fillerBytes = DEFAULT_FILLER_BYTES }: { fillerBytes?: number } = {},
): Promise<void> {
  const [clientId, key] = await Promise.all([
    replicaClientId(primaryPort, replicaPort),
    fillerKeyFor(primaryPort),
  ]);
  nodes.pause(replicaPort);
  const reply = await rawCommand(primaryPort, ['SET', key, Buffer.alloc(fillerBytes, 'x')]);
  if (reply !== '+OK') throw new Error(`SET of the filler on port ${primaryPort}: ${reply}`);

  let outputBuffer = 0;
  await waitUntil(
    async () => {
      const [link] = parseClientList(await cli(primaryPort, ['client', 'list', 'id', clientId]));
      outputBuffer = Number(link?.get('omem') ?? 0);
      return outputBuffer >= fillerBytes / 2;
    },
    // The primary hands the filler to the replica's buffer within the SET; give it a moment anyway.
    1_000,
    () =>
      `Replication from ${primaryPort} to ${replicaPort} did not stall: the primary holds only ${outputBuffer} of ${fillerBytes} filler bytes for the replica`,
  );
}
