/**
 * Throwaway Redis servers for tests: a single server that can be stopped and
 * restarted on the same port (to test outage handling), and a three-master
 * Redis Cluster, optionally with a replica per master that failover tests can
 * promote by killing its master. Every server is a child `redis-server` process
 * on a free loopback port with persistence off, so tests never touch a system
 * Redis. (Sentinel groups live in redis-replication-harness.ts, built on the
 * helpers exported here.)
 *
 * Only Node built-ins are used; `redis-server` and `redis-cli` must be on PATH
 * (`bash scripts/ensure-redis.sh` installs them).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerHandle {
  host: '127.0.0.1';
  port: number;
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** Kills the server (no graceful shutdown, nothing saved) and resolves once the port refuses connections. No-op if stopped. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and dir after stop() (loading a dump a test SAVEd); resolves once it answers PING. */
  start(): Promise<void>;
}

export interface RedisClusterHandle {
  /** Every node, masters and replicas, as clients should be given them. */
  nodes: { host: string; port: number }[];
  /** Kills all nodes and removes their temp dir. */
  stop(): Promise<void>;
  /** Port of the master that owns `slot` now, as a live node's CLUSTER NODES says. */
  primaryOfSlot(slot: number): Promise<number>;
  /** Ports of the live replicas of that master. */
  replicasOf(primaryPort: number): Promise<number[]>;
  /** SIGKILLs a node; resolves once its port refuses connections. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port (see NodeControls.restart). */
  restart(port: number): Promise<void>;
  /** SIGSTOPs a node: it keeps its sockets but answers nothing (a hung, not a dead, server). */
  pause(port: number): void;
  /** SIGCONTs a node paused by pause(). */
  resume(port: number): void;
  /**
   * Resolves with the port of `slot`'s new master once every live node reports cluster_state:ok
   * and agrees that a node other than `oldPort` owns the slot; rejects after `timeoutMs`
   * (default 20 s) with the live nodes' CLUSTER INFO and CLUSTER NODES.
   */
  waitForFailover(slot: number, oldPort: number, timeoutMs?: number): Promise<number>;
}

export const HOST = '127.0.0.1' as const;
const SERVER_START_TIMEOUT_MS = 10_000;
const CLUSTER_READY_TIMEOUT_MS = 20_000;
const PORT_CLOSE_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 50;
export const FAILOVER_TIMEOUT_MS = 20_000;
const CLUSTER_MASTERS = 3;
const DEFAULT_CLUSTER_NODE_TIMEOUT_MS = 2_000;
const CLUSTER_SLOTS = 16384;
// Redis Cluster listens on P + 10000 for its node-to-node bus.
const CLUSTER_BUS_OFFSET = 10_000;
const CLUSTER_PORT_MIN = 20_000;
const CLUSTER_PORT_MAX = 40_000;

// ---------------------------------------------------------------------------
// Leak protection: whatever a test forgets to stop is killed when Node exits.
// ---------------------------------------------------------------------------

/**
 * Jest runs each test file in a vm context with a *copy* of `process` whose
 * 'exit' event never fires, so `process.on('exit')` there is silently dead.
 * A function made by a Node core module belongs to the host realm, and that
 * realm's Function constructor sees the real `process`. Outside Jest this is
 * just `process`.
 */
export const hostProcess: NodeJS.Process = (() => {
  try {
    return (createServer.constructor as FunctionConstructor)('return process')() as NodeJS.Process;
  } catch {
    return process; // e.g. --disallow-code-generation-from-strings
  }
})();

interface Live {
  children: Set<ChildProcess>;
  dirs: Set<string>;
}
const LIVE = Symbol.for('redis-harness:live');

/**
 * What is alive, for the whole run: one registry and one exit hook on the host
 * process, shared by every test file's copy of this module. A server keeps its
 * dir after stop() (start() may follow and load a dump), so dirs go at exit; a
 * hook per test file stayed on the host process with that file's vm context,
 * one per file (Node warned of 11 exit listeners).
 */
const live: Live = (() => {
  const host = hostProcess as NodeJS.Process & { [LIVE]?: Live };
  if (!host[LIVE]) {
    const registry: Live = { children: new Set(), dirs: new Set() };
    host.on('exit', () => {
      for (const child of registry.children) child.kill('SIGKILL');
      for (const dir of registry.dirs) rmSync(dir, { recursive: true, force: true });
    });
    host[LIVE] = registry;
  }
  return host[LIVE];
})();

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  live.dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.dirs.delete(dir);
}

// ---------------------------------------------------------------------------
// Ports and polling
// ---------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port the OS considers free right now on 127.0.0.1. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() =>
        port ? resolve(port) : reject(new Error('Could not read the port of a listening socket')),
      );
    });
  });
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/**
 * A port P in 20000–40000 with both P and its cluster bus port P+10000 free.
 * listen(0) can't be used: it can't promise anything about P+10000. `reserved`
 * keeps concurrent callers from picking the same P.
 */
async function getFreeClusterPort(reserved: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port =
      CLUSTER_PORT_MIN + Math.floor(Math.random() * (CLUSTER_PORT_MAX - CLUSTER_PORT_MIN));
    if (reserved.has(port) || reserved.has(port + CLUSTER_BUS_OFFSET)) continue;
    reserved.add(port);
    if ((await isPortFree(port)) && (await isPortFree(port + CLUSTER_BUS_OFFSET))) return port;
    reserved.delete(port);
  }
  throw new Error(
    `No port P in ${CLUSTER_PORT_MIN}-${CLUSTER_PORT_MAX} with P and P+${CLUSTER_BUS_OFFSET} free`,
  );
}

/** One raw RESP round trip; cheaper than spawning redis-cli on every poll. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      // A server still loading answers -LOADING: not ready yet.
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Polls `check` until it returns true; `abort` lets a caller fail fast (e.g. the process died). */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  describeTimeout: () => string,
  abort?: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = abort?.();
    if (reason) throw reason;
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(describeTimeout());
    await sleep(POLL_INTERVAL_MS);
  }
}

// ---------------------------------------------------------------------------
// redis-server / redis-cli processes
// ---------------------------------------------------------------------------

export interface RunningServer {
  port: number;
  child: ChildProcess;
  logFile: string;
  /** Starts the same process again on the same port and dir (after it was killed). */
  relaunch(): Promise<RunningServer>;
}

/** Thrown when redis-server dies during startup, typically because another process grabbed the port. */
export class RedisExitedDuringStartup extends Error {}

export function logTail(logFile: string): string {
  if (!existsSync(logFile)) return '(no log written)';
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
}

/** Spawns redis-server in the foreground and resolves once it answers PING. */
export function launchRedisServer(
  port: number,
  dir: string,
  extraArgs: string[] = [],
): Promise<RunningServer> {
  const logFile = join(dir, `redis-${port}.log`);
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    '--dir',
    dir,
    // stdio is ignored, so keep the log on disk to explain startup failures.
    '--logfile',
    logFile,
    // A master with replicas otherwise waits 5 s for more of them before it starts the (diskless)
    // initial sync; these tests start all replicas at once anyway.
    '--repl-diskless-sync-delay',
    '0',
    ...extraArgs,
  ];
  return launchRedisProcess('redis-server', args, port, logFile);
}

/**
 * Spawns `command` (redis-server, or redis-sentinel with its config file) in the foreground,
 * tracked so that the exit hook kills it, and resolves once it answers PING on `port`.
 */
export async function launchRedisProcess(
  command: string,
  args: string[],
  port: number,
  logFile: string,
): Promise<RunningServer> {
  const child = spawn(command, args, { stdio: 'ignore' });
  // A forgotten stop() must not keep the test runner alive; the exit hook kills it.
  child.unref();
  live.children.add(child);

  let failure: Error | undefined;
  child.once('error', (err) => {
    failure = new Error(`Could not spawn ${command} (run scripts/ensure-redis.sh): ${err.message}`);
  });
  child.once('exit', (code, signal) => {
    live.children.delete(child);
    failure ??= new RedisExitedDuringStartup(
      `${command} on port ${port} exited during startup (code ${code}, signal ${signal}):\n${logTail(logFile)}`,
    );
  });

  try {
    await waitUntil(
      () => answersPing(port),
      SERVER_START_TIMEOUT_MS,
      () =>
        `${command} on port ${port} did not answer PING within ${SERVER_START_TIMEOUT_MS} ms:\n${logTail(logFile)}`,
      () => failure,
    );
  } catch (err) {
    // Don't wait for the port to close: on a lost port race it belongs to someone else.
    await killChild(child);
    throw err;
  }
  return { port, child, logFile, relaunch: () => launchRedisProcess(command, args, port, logFile) };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  child.kill('SIGKILL');
  // Poll rather than await the 'exit' event: the child is unref'd, so a plain
  // Node script would end mid-await; the polling timers keep the loop alive.
  await waitUntil(
    async () => hasExited(child),
    PORT_CLOSE_TIMEOUT_MS,
    () => `redis-server (pid ${child.pid}) did not die after SIGKILL`,
  );
}

/** SIGKILL (no SHUTDOWN, nothing to save anyway), then wait until the port is really closed. */
export async function killServer({ port, child }: RunningServer): Promise<void> {
  await killChild(child);
  await waitUntil(
    () => refusesConnections(port),
    PORT_CLOSE_TIMEOUT_MS,
    () =>
      `Port ${port} still accepts connections ${PORT_CLOSE_TIMEOUT_MS} ms after redis-server was killed`,
  );
}

export function redisCli(args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

// ---------------------------------------------------------------------------
// Single server
// ---------------------------------------------------------------------------

/**
 * A server keeps its temp dir across stop() and start(), so a test can SAVE, restart and find
 * its data again (nothing is saved unless a test asks: `--save ""`). The dir goes at exit.
 * `args`: more configuration, e.g. `['--maxmemory-policy', 'allkeys-lru']`, kept on restart.
 */
export async function startRedis({
  args = [],
}: { args?: string[] } = {}): Promise<RedisServerHandle> {
  let port = 0;
  let dir = '';
  let running: RunningServer | undefined;
  // getFreePort() only says the port was free a moment ago; retry if we lost a race for it.
  for (let attempt = 1; !running; attempt++) {
    port = await getFreePort();
    dir = makeTempDir(`redis-${port}-`);
    try {
      running = await launchRedisServer(port, dir, args);
    } catch (err) {
      removeTempDir(dir);
      if (!(err instanceof RedisExitedDuringStartup) || attempt >= 3) throw err;
    }
  }

  return {
    host: HOST,
    port,
    url: `redis://${HOST}:${port}`,
    async stop() {
      if (!running) return;
      const stopping = running;
      running = undefined;
      await killServer(stopping);
    },
    async start() {
      if (running) throw new Error(`Redis on port ${port} is already running`);
      running = await launchRedisServer(port, dir, args);
    },
  };
}

// ---------------------------------------------------------------------------
// Cluster
// ---------------------------------------------------------------------------

async function launchClusterNode(
  dir: string,
  reserved: Set<number>,
  nodeTimeoutMs: number,
): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await getFreeClusterPort(reserved);
    try {
      return await launchRedisServer(port, dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
      ]);
    } catch (err) {
      if (!(err instanceof RedisExitedDuringStartup) || attempt >= 3) throw err;
    }
  }
}

export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  /** The master's id for a replica, '-' for a master. */
  masterId: string;
  /** Owned slot ranges, inclusive; importing/migrating markers `[...]` left out. */
  slots: [number, number][];
}

/** CLUSTER NODES lines: <id> <ip:port@bus[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slots...> */
export function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(' '))
    .filter((fields) => fields.length >= 8)
    .map(([id, address, flags, masterId, , , , , ...slots]) => ({
      id,
      port: Number(address.split('@')[0].split(':').pop()),
      flags: flags.split(','),
      masterId,
      slots: slots
        .filter((range) => !range.startsWith('['))
        .map((range) => {
          const [from, to = from] = range.split('-').map(Number);
          return [from, to] as [number, number];
        }),
    }));
}

function ownerOfSlot(nodes: ClusterNodeLine[], slot: number): ClusterNodeLine | undefined {
  return nodes.find((node) => node.slots.some(([from, to]) => slot >= from && slot <= to));
}

/**
 * `redis-cli --cluster create` returns once the slots are assigned, but nodes
 * may still disagree for a moment; clients that connect then get MOVED loops
 * or CLUSTERDOWN. Wait until every node sees a healthy cluster of all nodes,
 * and knows every replica as one: a master votes in a failover only for a node
 * it knows as a replica of the failed master.
 */
async function waitForClusterReady(ports: number[], replicaCount: number): Promise<void> {
  const lastInfo = new Map<number, string>();
  const nodeIsReady = async (port: number) => {
    const [info, nodes] = await Promise.all(
      ['info', 'nodes'].map((sub) =>
        redisCli(['-h', HOST, '-p', String(port), 'cluster', sub]).catch(
          (err: Error) => err.message,
        ),
      ),
    );
    lastInfo.set(port, `${info.trim()}\n${nodes.trim()}`);
    const fields = parseInfo(info);
    return (
      fields.get('cluster_state') === 'ok' &&
      fields.get('cluster_slots_ok') === String(CLUSTER_SLOTS) &&
      fields.get('cluster_known_nodes') === String(ports.length) &&
      parseClusterNodes(nodes).filter((node) => node.flags.includes('slave')).length ===
        replicaCount
    );
  };
  await waitUntil(
    async () => (await Promise.all(ports.map(nodeIsReady))).every(Boolean),
    CLUSTER_READY_TIMEOUT_MS,
    () =>
      `Redis Cluster on ports ${ports.join(', ')} not ready within ${CLUSTER_READY_TIMEOUT_MS} ms. Last CLUSTER INFO and NODES:\n` +
      [...lastInfo].map(([port, text]) => `--- ${port}\n${text}`).join('\n'),
  );
}

/**
 * Every node of `ports` that is a replica has finished its initial sync (master_link_status:up),
 * and at least `replicaCount` of them are replicas. Until then a replica has no data to be
 * promoted with, and a Sentinel or cluster failover would refuse or lose it.
 */
export async function waitForReplicasLinked(
  ports: number[],
  replicaCount: number,
  timeoutMs = CLUSTER_READY_TIMEOUT_MS,
): Promise<void> {
  const lastInfo = new Map<number, string>();
  const linkedReplica = async (port: number) => {
    const text = await redisCli(['-h', HOST, '-p', String(port), 'info', 'replication']).catch(
      (err: Error) => err.message,
    );
    lastInfo.set(port, text);
    const info = parseInfo(text);
    return info.get('role') === 'slave' && info.get('master_link_status') === 'up';
  };
  await waitUntil(
    async () =>
      (await Promise.all(ports.map(linkedReplica))).filter(Boolean).length >= replicaCount,
    timeoutMs,
    () =>
      `Fewer than ${replicaCount} of ${ports.join(', ')} are replicas in sync within ${timeoutMs} ms. Last INFO replication:\n` +
      [...lastInfo].map(([port, text]) => `--- ${port}\n${text.trim()}`).join('\n'),
  );
}

export interface NodeControls {
  kill(port: number): Promise<void>;
  /**
   * Starts a killed node again, as an operator brings a failed server back: a Cluster node
   * rejoins from its nodes.conf (as a replica, if it was failed over); a Sentinel data node
   * starts as a master, and the sentinels turn it into a replica of the promoted one.
   */
  restart(port: number): Promise<void>;
  pause(port: number): void;
  resume(port: number): void;
  /** Ports neither killed nor paused: the ones worth asking. */
  answering(): number[];
}

/** kill/pause/resume by port for the servers in `servers`; kill() removes a server from it, so stop() skips it. */
export function controlNodes(servers: Map<number, RunningServer>): NodeControls {
  const paused = new Set<number>();
  const killed = new Map<number, RunningServer>();
  const server = (port: number) => {
    const found = servers.get(port);
    if (!found) throw new Error(`No running node on port ${port} (killed already?)`);
    return found;
  };
  return {
    async kill(port) {
      const victim = server(port);
      servers.delete(port);
      paused.delete(port);
      killed.set(port, victim);
      await killServer(victim);
    },
    async restart(port) {
      const victim = killed.get(port);
      if (!victim) throw new Error(`No killed node on port ${port}`);
      killed.delete(port);
      servers.set(port, await victim.relaunch());
    },
    pause(port) {
      server(port).child.kill('SIGSTOP');
      paused.add(port);
    },
    resume(port) {
      server(port).child.kill('SIGCONT');
      paused.delete(port);
    },
    answering: () => [...servers.keys()].filter((port) => !paused.has(port)),
  };
}

async function clusterNodesOf(port: number): Promise<ClusterNodeLine[]> {
  return parseClusterNodes(
    await redisCli(['-h', HOST, '-p', String(port), 'cluster', 'nodes'], 2_000),
  );
}

/** What one live node thinks: undefined unless cluster_state:ok and some node owns `slot`. */
async function slotOwnerIfOk(port: number, slot: number, log: Map<number, string>) {
  try {
    const [info, nodes] = await Promise.all(
      ['info', 'nodes'].map((sub) =>
        redisCli(['-h', HOST, '-p', String(port), 'cluster', sub], 2_000),
      ),
    );
    log.set(port, `${info.trim()}\n${nodes.trim()}`);
    if (parseInfo(info).get('cluster_state') !== 'ok') return undefined;
    return ownerOfSlot(parseClusterNodes(nodes), slot)?.port;
  } catch (err) {
    log.set(port, (err as Error).message);
    return undefined;
  }
}

export async function startRedisCluster({
  replicasPerPrimary = 0,
  nodeTimeoutMs = DEFAULT_CLUSTER_NODE_TIMEOUT_MS,
}: { replicasPerPrimary?: 0 | 1; nodeTimeoutMs?: number } = {}): Promise<RedisClusterHandle> {
  const dir = makeTempDir('redis-cluster-');
  const servers = new Map<number, RunningServer>();
  const controls = controlNodes(servers);
  const stop = async () => {
    const running = [...servers.values()];
    servers.clear();
    await Promise.all(running.map(killServer));
    removeTempDir(dir);
  };

  try {
    const reserved = new Set<number>();
    const replicaCount = CLUSTER_MASTERS * replicasPerPrimary;
    // allSettled, not all: on a failure the nodes that did start must still be stopped.
    const launches = await Promise.allSettled(
      Array.from({ length: CLUSTER_MASTERS + replicaCount }, () =>
        launchClusterNode(dir, reserved, nodeTimeoutMs),
      ),
    );
    for (const launch of launches)
      if (launch.status === 'fulfilled') servers.set(launch.value.port, launch.value);
    const failed = launches.find((launch) => launch.status === 'rejected');
    if (failed) throw failed.reason;

    const ports = [...servers.keys()];
    // All nodes share one host, so redis-cli warns that replicas sit beside their masters; fine here.
    await redisCli(
      [
        '--cluster',
        'create',
        ...ports.map((port) => `${HOST}:${port}`),
        '--cluster-replicas',
        String(replicasPerPrimary),
        '--cluster-yes',
      ],
      CLUSTER_READY_TIMEOUT_MS,
    );
    await waitForClusterReady(ports, replicaCount);
    await waitForReplicasLinked(ports, replicaCount);

    /** Any node that answers will do: they all agree once waitForClusterReady/waitForFailover passed. */
    const askAnyNode = async () => {
      const [port] = controls.answering();
      if (port === undefined) throw new Error('No cluster node left that answers');
      return clusterNodesOf(port);
    };

    return {
      nodes: ports.map((port) => ({ host: HOST, port })),
      stop,
      kill: controls.kill,
      restart: controls.restart,
      pause: controls.pause,
      resume: controls.resume,
      async primaryOfSlot(slot) {
        const owner = ownerOfSlot(await askAnyNode(), slot);
        if (!owner) throw new Error(`No node owns slot ${slot}`);
        return owner.port;
      },
      async replicasOf(primaryPort) {
        const nodes = await askAnyNode();
        const primary = nodes.find((node) => node.port === primaryPort);
        if (!primary) throw new Error(`No cluster node on port ${primaryPort}`);
        const live = new Set(servers.keys());
        return nodes
          .filter((node) => node.masterId === primary.id && !node.flags.includes('fail'))
          .map((node) => node.port)
          .filter((port) => live.has(port));
      },
      async waitForFailover(slot, oldPort, timeoutMs = FAILOVER_TIMEOUT_MS) {
        const log = new Map<number, string>();
        let newPort = 0;
        await waitUntil(
          async () => {
            const owners = await Promise.all(
              controls.answering().map((port) => slotOwnerIfOk(port, slot, log)),
            );
            newPort = owners[0] ?? 0;
            return (
              owners.length > 0 &&
              newPort !== oldPort &&
              servers.has(newPort) &&
              owners.every((owner) => owner === newPort)
            );
          },
          timeoutMs,
          () =>
            `Slot ${slot} did not fail over from port ${oldPort} within ${timeoutMs} ms. Last CLUSTER INFO and NODES of the live nodes:\n` +
            [...log].map(([port, text]) => `--- ${port}\n${text}`).join('\n'),
        );
        return newPort;
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
