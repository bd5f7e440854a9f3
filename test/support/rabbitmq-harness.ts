/**
 * A throwaway RabbitMQ broker for tests: Debian's `rabbitmq-server` (3.10) as a child process on
 * free loopback ports, its whole state (Mnesia, logs, Erlang cookie, config) in a temp dir, and its
 * own `epmd` (Erlang's port mapper) on a free port of its own, so it never touches a system broker,
 * a system epmd or another test run's broker. Starting takes ~5–10 s: start one per spec file.
 *
 * Everything the broker starts (beam.smp, erl_child_setup, inet_gethost, the disk monitor's shell)
 * inherits a marker variable naming the temp dir; stop() kills the broker's process group, its epmd
 * and then every process still carrying the marker, each by pid, and `processesOf()` lets a spec
 * check that nothing is left. (`bash scripts/ensure-rabbitmq.sh` installs the broker.)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import { getFreePort, hostProcess } from './redis-harness.js';

export interface RabbitMqHandle {
  /** `amqp://127.0.0.1:PORT` (user guest, vhost /) */
  url: string;
  port: number;
  /** `testPORT@localhost` */
  nodeName: string;
  /** Runs `rabbitmqctl -n NODE …args` against this broker and resolves with its stdout. */
  ctl(args: string[]): Promise<string>;
  /** Kills the broker, its epmd and whatever they started (by pid), and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** The broker's processes still alive (beam.smp, epmd, …): none after stop(). */
  processes(): BrokerProcess[];
  /** The broker's log so far, e.g. to find channel exceptions (an ack of an unknown delivery tag). */
  log(): string;
}

/** A process that belongs to a broker started here. */
export interface BrokerProcess {
  pid: number;
  command: string;
}

const HOST = '127.0.0.1' as const;
const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
/** Set on the broker and its epmd (and so on everything they start): the broker's temp dir. */
const MARKER = 'IDEMPOTENCY_TEST_RABBITMQ';
const START_TIMEOUT_MS = 40_000;
const EPMD_START_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 100;
const CTL_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Processes, found by the marker in /proc/PID/environ (Linux)
// ---------------------------------------------------------------------------

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined; // gone, a kernel thread, or not ours to read
  }
}

/** Live processes carrying the marker of the broker whose temp dir is `dir` (zombies are dead). */
function processesOf(dir: string): BrokerProcess[] {
  if (!existsSync('/proc/self/environ')) return [];
  const wanted = `${MARKER}=${dir}`;
  const found: BrokerProcess[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const environ = readProc(pid, 'environ');
    if (!environ?.split('\0').includes(wanted)) continue;
    // Field 3 of /proc/PID/stat, after the parenthesised command name, is the state.
    const stat = readProc(pid, 'stat') ?? '';
    if (/\) Z /.test(stat) || stat === '') continue;
    const command = (readProc(pid, 'cmdline') ?? '').split('\0').join(' ').trim();
    found.push({ pid: Number(pid), command: command.slice(0, 200) });
  }
  return found;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || child.pid === undefined;
}

/** Polls `ready` (which throws to give up early) until it holds, or fails with `late()` after `ms`. */
async function waitFor(
  ready: () => boolean | Promise<boolean>,
  ms: number,
  late: () => string,
): Promise<void> {
  for (const deadline = Date.now() + ms; !(await ready()); await sleep(POLL_INTERVAL_MS)) {
    if (Date.now() >= deadline) throw new Error(late());
  }
}

function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: HOST, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A real AMQP handshake (the port opens a moment before the broker serves it). */
async function acceptsAmqp(url: string): Promise<boolean> {
  try {
    const connection = await amqpConnect(url, { timeout: 2_000 });
    await connection.close().catch(() => undefined);
    return true;
  } catch {
    return false;
  }
}

/** The broker's output, for a failure message: its error lines first, then its last lines. */
function explain(file: string): string {
  if (!existsSync(file)) return '(none written)';
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line));
  if (lines.length === 1 && lines[0] === '') return '(empty)';
  const errors = lines.filter((line) => /\[error\]|BOOT FAILED|error|in ?use/i.test(line));
  return [
    ...(errors.length ? ['(error lines)', ...errors.slice(0, 15), '(last lines)'] : []),
    ...lines.slice(-12),
  ].join('\n');
}

/** Three distinct free ports: AMQP, Erlang distribution, epmd. */
async function freePorts(): Promise<[number, number, number]> {
  for (;;) {
    const ports = [await getFreePort(), await getFreePort(), await getFreePort()];
    if (new Set(ports).size === 3) return ports as [number, number, number];
  }
}

function epmdPath(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'epmd'))) return join(dir, 'epmd');
  }
  return '/usr/lib/erlang/bin/epmd';
}

/** Thrown when the broker dies while starting, e.g. because another process took a port. */
class BrokerExitedDuringStartup extends Error {}

// ---------------------------------------------------------------------------
// One broker
// ---------------------------------------------------------------------------

async function launchBroker(): Promise<RabbitMqHandle> {
  const [port, distPort, epmdPort] = await freePorts();
  const nodeName = `test${port}@localhost`;
  const url = `amqp://${HOST}:${port}`;
  const dir = mkdtempSync(join(tmpdir(), `rabbitmq-${port}-`));
  const logDir = join(dir, 'log');
  mkdirSync(logDir);
  mkdirSync(join(dir, 'mnesia'));
  // Our own config files, so nothing in /etc/rabbitmq (plugins such as the management UI on
  // every interface, listeners, limits) applies to the test broker.
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [
      `listeners.tcp.default = ${HOST}:${port}`,
      // A nearly full /tmp or a busy machine must not make the broker block publishers.
      'disk_free_limit.absolute = 1MB',
      'vm_memory_high_watermark.relative = 0.9',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: dir, // the Erlang cookie goes here
    ERL_CRASH_DUMP: join(dir, 'erl_crash.dump'), // not into the current directory
    [MARKER]: dir,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: logDir,
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    // Node-to-node traffic on loopback only.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: `-kernel inet_dist_use_interface {127,0,0,1}`,
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: HOST,
  };

  const outFile = join(dir, 'server.out');
  const brokerLog = join(logDir, `${nodeName}.log`);
  let epmd: ChildProcess | undefined;
  let broker: ChildProcess | undefined;
  let stopped = false;

  /**
   * SIGKILLs every process of the broker but its start script (a shell waiting for beam.smp, which
   * reaps beam.smp and exits once it dies, so no dead beam.smp lingers in the process table), and
   * with `all` the script's whole process group too.
   */
  const killSync = (all: boolean) => {
    if (all && broker?.pid !== undefined && !hasExited(broker)) {
      try {
        process.kill(-broker.pid, 'SIGKILL');
      } catch {
        killPid(broker.pid);
      }
    }
    if (epmd?.pid !== undefined && !hasExited(epmd)) killPid(epmd.pid);
    // beam.smp, and erl_child_setup and the port programs it starts (in sessions of their own).
    for (const { pid } of processesOf(dir)) if (all || pid !== broker?.pid) killPid(pid);
  };
  const removeAtExit = () => {
    killSync(true);
    rmSync(dir, { recursive: true, force: true });
  };
  hostProcess.on('exit', removeAtExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const since = Date.now();
    try {
      await waitFor(
        () => {
          // Again on every poll: anything a dying process started meanwhile. The start script
          // is given a second to exit by itself.
          killSync(Date.now() - since > 1_000);
          const children = [epmd, broker].filter((child) => child !== undefined);
          return children.every(hasExited) && processesOf(dir).length === 0;
        },
        STOP_TIMEOUT_MS,
        () =>
          `RabbitMQ ${nodeName}: processes still alive ${STOP_TIMEOUT_MS} ms after SIGKILL: ${JSON.stringify(processesOf(dir))}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      hostProcess.off('exit', removeAtExit);
    }
  };

  const describe = (what: string) =>
    `RabbitMQ ${nodeName} (AMQP ${port}, dist ${distPort}, epmd ${epmdPort}) ${what}.\n` +
    `--- rabbitmq-server's output:\n${explain(outFile)}\n` +
    `--- ${brokerLog}:\n${explain(brokerLog)}`;

  try {
    // 1. Our own epmd, in the foreground: we hold its pid. The broker's attempt to start one
    //    (`epmd -daemon` on ERL_EPMD_PORT) finds the port taken and exits.
    epmd = spawn(epmdPath(), ['-port', String(epmdPort), '-address', HOST], {
      env,
      cwd: dir,
      stdio: 'ignore',
    });
    epmd.unref();
    let epmdFailure: Error | undefined;
    epmd.once('error', (err) => (epmdFailure = new Error(`Could not spawn epmd: ${err.message}`)));
    epmd.once('exit', (code, signal) => {
      epmdFailure ??= new BrokerExitedDuringStartup(
        // most likely: its port was taken
        `epmd on port ${epmdPort} exited (code ${code}, signal ${signal})`,
      );
    });
    await waitFor(
      () => {
        if (epmdFailure) throw epmdFailure;
        return acceptsTcp(epmdPort);
      },
      EPMD_START_TIMEOUT_MS,
      () => `epmd did not listen on ${epmdPort} within ${EPMD_START_TIMEOUT_MS} ms`,
    );

    // 2. The broker, in its own process group, its output in a file (for failures).
    const out = openSync(outFile, 'a');
    try {
      broker = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], {
        env,
        cwd: dir,
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    broker.unref();
    let brokerFailure: Error | undefined;
    broker.once('error', (err) => {
      brokerFailure = new Error(
        `Could not spawn ${RABBITMQ_BIN}/rabbitmq-server (run scripts/ensure-rabbitmq.sh): ${err.message}`,
      );
    });
    broker.once('exit', (code, signal) => {
      const message = describe(`exited while starting (code ${code}, signal ${signal})`);
      // A port taken between getFreePort() and the broker's listen is worth another try.
      const lostPortRace = /eaddrinuse|in use/i.test(readFileSync(outFile, 'utf8'));
      brokerFailure ??= lostPortRace ? new BrokerExitedDuringStartup(message) : new Error(message);
    });

    // 3. Ready when a client completes the AMQP handshake.
    await waitFor(
      () => {
        const failure = brokerFailure ?? epmdFailure;
        if (failure) throw failure;
        return acceptsAmqp(url);
      },
      START_TIMEOUT_MS,
      () => describe(`did not accept an AMQP connection within ${START_TIMEOUT_MS} ms`),
    );
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }

  const ctl = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile(
        join(RABBITMQ_BIN, 'rabbitmqctl'),
        ['-n', nodeName, ...args],
        { env, cwd: dir, timeout: CTL_TIMEOUT_MS },
        (err, stdout, stderr) => {
          if (err)
            reject(
              new Error(`rabbitmqctl ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`),
            );
          else resolve(stdout);
        },
      );
    });

  const log = () => (existsSync(brokerLog) ? readFileSync(brokerLog, 'utf8') : '');
  return { url, port, nodeName, ctl, stop, processes: () => processesOf(dir), log };
}

/** Starts a broker; retries (up to 3 times) when it lost a race for one of its free ports. */
export async function startRabbitMq(): Promise<RabbitMqHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchBroker();
    } catch (err) {
      if (!(err instanceof BrokerExitedDuringStartup) || attempt >= 3) throw err;
    }
  }
}
