/**
 * What both orchestrators (run.mjs, replicas.mjs) do the same way: pin and start the servers,
 * time one load.mjs run with the CPU and Redis calls around it, judge it, run it again when its
 * tokens ran out, and say which code on which machine was measured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { baseUrl, send } from './http.mjs';
import {
  assertAlive,
  cpuSeconds,
  freePort,
  reapedChildrenCpuSeconds,
  runJsonProcess,
  startProcess,
  waitFor,
} from './processes.mjs';
import { callsSince, commandCalls, redisVersion } from './redis.mjs';
import { learnRate } from './servers.mjs';
import { REPO_ROOT, serverEnv } from './settings.mjs';

const LOAD_SCRIPT = join(REPO_ROOT, 'scripts/bench/load.mjs');
/** Outcome writes are fire-and-forget: let the last ones land before reading CPU and Redis counters. */
const SETTLE_MS = 250;
/** The core the servers run on when pinned; Redis and the load generator get the others. */
const SERVER_CPU = '1';
/** Runs with more tokens than a server will take can only be guessed: one that ran out is run again. */
const TOKEN_ATTEMPTS = 3;

/**
 * The reference numbers were taken with the server on one core of its own: `taskset -c 1`,
 * where taskset works and there is a second core. Redis and the load generator stay unpinned.
 */
export function pinning(options) {
  if (!options.pin) return { prefix: [], note: 'servers not pinned (BENCH_PIN=0)' };
  if (cpus().length < 2) return { prefix: [], note: 'servers not pinned (1 CPU)' };
  const probe = spawnSync('taskset', ['-c', SERVER_CPU, 'true'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0)
    return { prefix: [], note: `servers not pinned (taskset -c ${SERVER_CPU} unavailable)` };
  return {
    prefix: ['taskset', '-c', SERVER_CPU],
    note: `servers pinned to CPU ${SERVER_CPU} (taskset)`,
  };
}

/**
 * stdout (the service's one JSON line per request) goes to /dev/null: writing it is part of the
 * service's cost, keeping it is not. stderr, empty unless something breaks, goes to a file.
 */
async function startServer(server, redisUrl, { options, pin }) {
  const port = await freePort();
  mkdirSync(options.resultsDir, { recursive: true });
  const stderrFile = join(options.resultsDir, `${server.process}.stderr.log`);
  const stderr = openSync(stderrFile, 'w');
  const [command, ...args] = [...pin.prefix, process.execPath, ...server.args];
  const child = startProcess(server.process, command, args, {
    cwd: REPO_ROOT,
    env: { ...serverEnv({ port, redisUrl, logLevel: options.logLevel }), ...server.env },
    stdio: ['ignore', 'ignore', stderr],
    critical: true,
  });
  closeSync(stderr); // the child has its own copy
  child.benchHint = `; see ${stderrFile}`;
  const base = baseUrl(port);
  try {
    await waitFor(
      `${server.process} on ${base}`,
      async () => (await send(`${base}/health`, { timeoutMs: 1_000 })).status === 200,
      { timeoutMs: 60_000, child },
    );
  } catch (error) {
    throw new Error(`${error.message}${child.benchHint}`, { cause: error });
  }
  return { ...server, child, base };
}

/** The servers, started one after another on the Redis at `redisUrl`, ready once /health is 200. */
export async function startServers(servers, redisUrl, { options, pin, log }) {
  const started = [];
  for (const server of servers) {
    started.push(await startServer(server, redisUrl, { options, pin }));
    log(`${server.process} on ${started.at(-1).base} (pid ${started.at(-1).child.pid})`);
  }
  return started;
}

/**
 * The load.mjs command line for a load (what a scenario's preparation returns). `fineLatency`:
 * percentiles with µs digits (autocannon's own have whole ms).
 */
function loadArgs(base, load, { connections, durationSeconds, rate }, { fineLatency }) {
  const { path, method = 'GET', body, headers = {}, perRequest } = load;
  const args = [
    LOAD_SCRIPT,
    '--url',
    `${base}${path}`,
    '--method',
    method,
    '--connections',
    String(connections),
    '--duration',
    String(durationSeconds),
    '--rate',
    String(rate),
  ];
  if (fineLatency) args.push('--fine-latency');
  if (body !== undefined) args.push('--body', body);
  for (const [name, value] of Object.entries(headers)) args.push('--header', `${name}=${value}`);
  if (perRequest)
    args.push(
      `--${perRequest.mode}`,
      perRequest.file ? `${perRequest.header}=${perRequest.file}` : perRequest.header,
    );
  return args;
}

/** Why a run does not count; empty when it does. */
function problemsOf(result, accepted, answered) {
  const problems = [];
  const others = Object.entries(result.statusCodeStats ?? {}).filter(
    ([status]) => !accepted.includes(Number(status)),
  );
  if (others.length > 0)
    problems.push(
      `answers of other statuses than ${accepted.join(', ')}: ${JSON.stringify(Object.fromEntries(others))}`,
    );
  if (result.errors > 0) problems.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  if (result.perRequest?.exhausted > 0)
    problems.push(`tokens ran out: ${result.perRequest.exhausted} requests without one`);
  if (answered === 0) problems.push('no request answered');
  return problems;
}

/** A run record's verdict and counts, from load.mjs's result and the statuses a scenario accepts. */
function outcomeOf(result, accepted) {
  // Answers of an accepted status: 2xx, and for 1 000 callers the limiter's 429 as well.
  const answered = accepted.reduce(
    (sum, status) => sum + (result.statusCodeStats?.[status]?.count ?? 0),
    0,
  );
  const problems = problemsOf(result, accepted, answered);
  return {
    valid: problems.length === 0,
    problems,
    durationSeconds: result.duration,
    requestsAnswered: answered,
    requestsCompleted: result.requests.total,
  };
}

/** CPU seconds each of `children` (by name) has used so far. */
const cpuOf = (children) =>
  Object.fromEntries(
    Object.entries(children).map(([name, child]) => [name, cpuSeconds(child.pid)]),
  );

/**
 * One timed load.mjs run of `load` on `server`: its result and what it comes to (outcomeOf), and
 * around it the CPU seconds the server (`cpu.server`), each of `redises` (by name) and the load
 * generator used, and the calls `admin`'s Redis counted.
 */
export async function timedLoad({
  scenario,
  server,
  load,
  options,
  admin,
  redises,
  fineLatency = false,
}) {
  const children = { server: server.child, ...redises };
  const before = {
    cpu: cpuOf(children),
    loader: reapedChildrenCpuSeconds(),
    calls: await commandCalls(admin),
  };
  const result = await runJsonProcess(
    `load ${scenario.id} ${server.process}`,
    process.execPath,
    loadArgs(server.base, load, options, { fineLatency }),
    { cwd: REPO_ROOT, timeoutMs: (options.durationSeconds + 60) * 1000 },
  );
  const loaderCpuSeconds = reapedChildrenCpuSeconds() - before.loader;
  await delay(SETTLE_MS);
  assertAlive(server.child, server.child.benchHint); // a server that died mid-run has no CPU to read
  const after = cpuOf(children);
  return {
    result,
    outcome: outcomeOf(result, scenario.accepted),
    cpu: Object.fromEntries(
      Object.keys(after).map((name) => [name, after[name] - before.cpu[name]]),
    ),
    loaderCpuSeconds,
    calls: callsSince(before.calls, await commandCalls(admin)),
  };
}

/**
 * `measure()`, repeated (learnRate doubles the supply) while the tokens ran out. Each run is logged
 * as `describe` says, with why it does not count if it does not.
 */
export async function runWithEnoughTokens(measure, describe, ctx) {
  for (let attempt = 1; ; attempt += 1) {
    const run = await measure();
    ctx.log(`${describe(run)}${run.valid ? '' : `  INVALID: ${run.problems.join('; ')}`}`);
    learnRate(ctx, run);
    if (!(run.perRequest?.exhausted > 0) || attempt === TOKEN_ATTEMPTS) return run;
    ctx.log('  again, with twice as many tokens');
  }
}

/** Servers in the order of a round: the list rotated by one place a round, so none is always first. */
export const rotated = (list, round) => list.map((_, i) => list[(i + round - 1) % list.length]);

/**
 * What a scenario's preparation (lib/servers.mjs) reads: the options, the Redis it prepares
 * (`admin`), the rates learnt so far (learnRate), the log, and `writeLines(name, lines)`, which
 * writes a file of the run's temporary folder `dir` and returns its path.
 */
export function scenarioContext({ options, redis, log, dir }) {
  const writeLines = (name, lines) => {
    const file = join(dir, `${name}.txt`);
    writeFileSync(file, lines.join('\n'));
    return file;
  };
  return { options, redis, rates: {}, log, writeLines };
}

function gitRevision() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src', 'packages'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }).trim() !== '';
    return dirty ? `${head} (src/ or packages/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

/** The start of a report's meta: when, which code, on what (Redis as `admin` reports it), how. */
export async function runMeta({ startedAt, admin, pin, options }) {
  return {
    startedAt,
    revision: gitRevision(),
    node: process.version,
    redis: await redisVersion(admin),
    cpus: cpus().length,
    pinning: pin.note,
    options,
  };
}
