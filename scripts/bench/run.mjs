/**
 * `npm run bench`: the service against the peer (@node-idempotency/nestjs), a bare Nest +
 * Fastify app (the framework's floor) and a raw node:http baseline doing the service's Redis
 * work, side by side on one Redis of their own, with one load generator. See docs/PERFORMANCE.md.
 *
 * Knobs: BENCH_DURATION (s per run, 10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50),
 * BENCH_RATE (req/s for all connections, 0 = flat out), BENCH_MEMORY=0 skips the memory part,
 * BENCH_LOG_LEVEL sets the servers' LOG_LEVEL (default: the service's own, one line per request),
 * BENCH_SERVERS / BENCH_SCENARIOS (comma lists, default all) run a subset, BENCH_PIN=0 leaves
 * the servers unpinned, BENCH_RESULTS_DIR moves the results.
 * Progress goes to stderr, the report (Markdown) to stdout, the raw numbers to
 * <results>/latest.json (scripts/bench/results/ unless BENCH_RESULTS_DIR says otherwise).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { baseUrl, closeAgent, send } from './lib/http.mjs';
import { measureMemory } from './lib/memory.mjs';
import {
  assertAlive,
  cpuSeconds,
  freePort,
  installCleanup,
  reapedChildrenCpuSeconds,
  runJsonProcess,
  startProcess,
  stopAll,
  waitFor,
} from './lib/processes.mjs';
import { callsSince, commandCalls, redisVersion, roundTrips, startRedis } from './lib/redis.mjs';
import {
  cpuTable,
  invalidRuns,
  memoryTable,
  resultsTable,
  statusTable,
  summarize,
  targetChecks,
} from './lib/report.mjs';
import { learnRate, SCENARIOS, SERVERS } from './lib/servers.mjs';
import { readOptions, REPO_ROOT, serverEnv } from './lib/settings.mjs';

const LOAD_SCRIPT = join(REPO_ROOT, 'scripts/bench/load.mjs');
/** Outcome writes are fire-and-forget: let the last ones land before reading CPU and Redis counters. */
const SETTLE_MS = 250;
/** The core the servers run on when pinned; Redis and the load generator get the others. */
const SERVER_CPU = '1';

const log = (message) => console.error(`[bench] ${message}`);

/**
 * The reference numbers were taken with the server on one core of its own: `taskset -c 1`,
 * where taskset works and there is a second core. Redis and the load generator stay unpinned.
 */
function pinning(options) {
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

/** The load.mjs command line for a load (what a scenario's preparation returns). */
function loadArgs(base, load, { connections, durationSeconds, rate }) {
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
  if (body !== undefined) args.push('--body', body);
  for (const [name, value] of Object.entries(headers)) args.push('--header', `${name}=${value}`);
  if (perRequest)
    args.push(
      `--${perRequest.mode}`,
      perRequest.file ? `${perRequest.header}=${perRequest.file}` : perRequest.header,
    );
  return args;
}

/** One timed run, with the server's, Redis' and the load generator's CPU and Redis' calls around it. */
async function measuredRun(scenario, server, round, ctx) {
  assertAlive(server.child, server.child.benchHint);
  assertAlive(ctx.redis.child);
  await ctx.redis.admin.flushall(); // every run starts from the same empty Redis
  const load = await server.scenarios[scenario.id](server, ctx);
  const before = {
    server: cpuSeconds(server.child.pid),
    redis: cpuSeconds(ctx.redis.child.pid),
    loader: reapedChildrenCpuSeconds(),
    calls: await commandCalls(ctx.redis.admin),
  };
  const result = await runJsonProcess(
    `load ${scenario.id} ${server.process}`,
    process.execPath,
    loadArgs(server.base, load, ctx.options),
    { cwd: REPO_ROOT, timeoutMs: (ctx.options.durationSeconds + 60) * 1000 },
  );
  const loaderCpuSeconds = reapedChildrenCpuSeconds() - before.loader;
  await delay(SETTLE_MS);
  assertAlive(server.child, server.child.benchHint); // a server that died mid-run has no CPU to read
  return toRecord({
    scenario,
    server,
    round,
    result,
    serverCpuSeconds: cpuSeconds(server.child.pid) - before.server,
    redisCpuSeconds: cpuSeconds(ctx.redis.child.pid) - before.redis,
    loaderCpuSeconds,
    redisCalls: callsSince(before.calls, await commandCalls(ctx.redis.admin)),
  });
}

/** Runs with more tokens than a server will take can only be guessed: one that ran out is run again. */
const TOKEN_ATTEMPTS = 3;

/** measuredRun, repeated (learnRate doubles the supply) while the tokens ran out. */
async function runWithEnoughTokens(scenario, server, round, ctx) {
  for (let attempt = 1; ; attempt += 1) {
    const run = await measuredRun(scenario, server, round, ctx);
    ctx.log(describeRun(run));
    learnRate(ctx, run);
    if (!(run.perRequest?.exhausted > 0) || attempt === TOKEN_ATTEMPTS) return run;
    ctx.log('  again, with twice as many tokens');
  }
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

function toRecord({
  scenario,
  server,
  round,
  result,
  serverCpuSeconds,
  redisCpuSeconds,
  loaderCpuSeconds,
  redisCalls,
}) {
  // Answers of an accepted status: 2xx, and for 1 000 callers the limiter's 429 as well.
  const answered = scenario.accepted.reduce(
    (sum, status) => sum + (result.statusCodeStats?.[status]?.count ?? 0),
    0,
  );
  const completed = result.requests.total;
  const problems = problemsOf(result, scenario.accepted, answered);
  return {
    round,
    scenario: scenario.id,
    server: server.name,
    process: server.process,
    valid: problems.length === 0,
    problems,
    durationSeconds: result.duration,
    requestsAnswered: answered,
    requestsCompleted: completed,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: answered / result.duration,
    latencyMs: {
      average: result.latency.average,
      p50: result.latency.p50,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    serverCpuSeconds,
    redisCpuSeconds,
    loaderCpuSeconds,
    requestsPerServerCpuSecond: serverCpuSeconds > 0 ? answered / serverCpuSeconds : undefined,
    redisCalls,
    roundTripsPerRequest: completed > 0 ? roundTrips(redisCalls) / completed : undefined,
    perRequest: result.perRequest,
  };
}

function describeRun(run) {
  const flag = run.valid ? '' : `  INVALID: ${run.problems.join('; ')}`;
  return (
    `  ${run.process.padEnd(12)} ${Math.round(run.requestsPerSecond).toString().padStart(7)} req/s  p99 ${run.latencyMs.p99} ms  ` +
    `server CPU ${run.serverCpuSeconds.toFixed(1)} s  Redis round trips/req ${run.roundTripsPerRequest?.toFixed(2) ?? 'n/a'}${flag}`
  );
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

/** Servers in the order of a round: the list rotated by one place a round, so none is always first. */
const rotated = (list, round) => list.map((_, i) => list[(i + round - 1) % list.length]);

/** The report's columns: the servers by name, once each (the service has two processes). */
const columnsOf = (servers) => [...new Set(servers.map((server) => server.name))];

function report({ meta, servers, summary, runs, memory }) {
  const { options } = meta;
  const columns = columnsOf(servers);
  const labels = columns.map((name) => servers.find((server) => server.name === name).label);
  const statuses = statusTable(summary, columns);
  return [
    `## Benchmark: ${labels.join(' vs ')}; one Redis, one load generator`,
    '',
    `${meta.startedAt} · revision ${meta.revision} · Node ${meta.node} · Redis ${meta.redis} · ${meta.cpus} CPUs · ` +
      `${meta.pinning} · ${options.rounds} round(s) × ${options.durationSeconds} s per run · ${options.connections} connections · ` +
      (options.rate > 0 ? `fixed rate ${options.rate} req/s` : 'as fast as the server answers') +
      (options.logLevel ? ` · LOG_LEVEL=${options.logLevel}` : ''),
    '',
    'Medians over valid runs. req/s and req per CPU-s (per CPU-second of the server process) count ' +
      "answers of the statuses a scenario expects: 2xx, and for 1 000 callers the limiter's 429 too. " +
      '— : the server has no such scenario (the peer issues no tokens). Redis round trips: script ' +
      'calls per request, or every command where a run had no script call (the peer).',
    '',
    resultsTable(summary, columns),
    ...(statuses ? ['', statuses] : []),
    '',
    cpuTable(summary, columns),
    '',
    '### Redis memory',
    '',
    memoryTable(memory),
    '',
    '### Targets',
    '',
    targetChecks(summary, memory, options),
    ...(invalidRuns(runs) ? ['', '### Runs that do not count', '', invalidRuns(runs)] : []),
    '',
  ].join('\n');
}

/** The servers and scenarios BENCH_SERVERS and BENCH_SCENARIOS chose. */
function selection(options) {
  const scenarios = SCENARIOS.filter(({ id }) => options.scenarios.includes(id));
  const servers = SERVERS.filter(
    (server) =>
      options.servers.includes(server.name) && scenarios.some(({ id }) => id in server.scenarios),
  );
  return { scenarios, servers };
}

async function main() {
  const startedAt = new Date().toISOString();
  const options = readOptions({
    servers: columnsOf(SERVERS),
    scenarios: SCENARIOS.map(({ id }) => id),
  });
  const { scenarios, servers } = selection(options);
  if (!existsSync(join(REPO_ROOT, 'dist/main.js')))
    throw new Error('dist/main.js is missing: run `npm run build` (npm run bench does)');
  for (const server of servers) server.setup?.(log);
  const pin = pinning(options);
  const tmp = mkdtempSync(join(tmpdir(), 'idem-bench-'));
  let redis;
  installCleanup(async () => {
    rmSync(tmp, { recursive: true, force: true });
    redis?.admin.disconnect();
  });

  try {
    redis = await startRedis();
    log(`redis-server ${await redisVersion(redis.admin)} on ${redis.url}; ${pin.note}`);
    const started = [];
    for (const server of servers) {
      started.push(await startServer(server, redis.url, { options, pin }));
      log(`${server.process} on ${started.at(-1).base} (pid ${started.at(-1).child.pid})`);
    }
    const checks = {};
    for (const server of started)
      checks[server.process] = await server.preflight(server.base, redis.admin);
    log('preflight: every server answers as it should');

    const ctx = {
      options,
      redis,
      rates: {},
      log,
      /** Writes `lines` to a file of the run's temporary folder; returns its path. */
      writeLines: (name, lines) => {
        const file = join(tmp, `${name}.txt`);
        writeFileSync(file, lines.join('\n'));
        return file;
      },
    };
    const runs = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const scenario of scenarios) {
        log(`round ${round}/${options.rounds}: ${scenario.title}`);
        for (const server of rotated(started, round)) {
          if (!(scenario.id in server.scenarios)) continue;
          runs.push(await runWithEnoughTokens(scenario, server, round, ctx));
        }
      }
    }

    let memory;
    if (options.memory) {
      log('Redis memory: 100 000 unused tokens (1 000 callers, then 1), 10 000 stored outcomes');
      memory = await measureMemory(redis.admin, redis.url);
    }

    const meta = {
      startedAt,
      revision: gitRevision(),
      node: process.version,
      redis: await redisVersion(redis.admin),
      cpus: cpus().length,
      pinning: pin.note,
      options,
      preflight: checks,
    };
    const summary = summarize(runs, scenarios, columnsOf(servers));
    writeFileSync(
      join(options.resultsDir, 'latest.json'),
      `${JSON.stringify({ meta, summary, memory, runs }, null, 2)}\n`,
    );
    process.stdout.write(report({ meta, servers, summary, runs, memory }));
    log(`raw results: ${join(options.resultsDir, 'latest.json')}`);
  } finally {
    closeAgent();
    redis?.admin.disconnect();
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`[bench] failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
