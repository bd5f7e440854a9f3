/**
 * `npm run bench:replicas` (by hand, after `npm run build`; never part of the test suite): what
 * `REDIS_MIN_REPLICAS=1` costs. One primary redis-server and one replica of it, both on loopback,
 * and the built service started twice on that primary, with `REDIS_MIN_REPLICAS=0` and `=1`;
 * rounds alternate the two on the same Redis pair and the same load generator (load.mjs), as
 * run.mjs alternates its servers. See docs/PERFORMANCE.md ("Replicas: what minReplicas costs").
 *
 * Two passes, each over first uses (pre-issued tokens) and replays:
 * - load: BENCH_CONNECTIONS connections, as fast as the server answers (or BENCH_RATE): requests
 *   per second and per server CPU-second;
 * - low rate: one connection at BENCH_LOW_RATE req/s (200): one request at a time, no queueing,
 *   so the latency a request gains is visible as such.
 * Latency is load.mjs's --fine-latency (µs digits; autocannon's own has whole ms).
 *
 * Knobs: BENCH_DURATION (s per run, 10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50), BENCH_RATE (0),
 * BENCH_LOW_RATE (200), BENCH_SCENARIOS (first-use,replay), BENCH_PIN=0, BENCH_LOG_LEVEL,
 * BENCH_RESULTS_DIR, as run.mjs's. Progress to stderr, the report (Markdown) to stdout, the raw
 * numbers to <results>/replicas-latest.json.
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
import {
  callsSince,
  commandCalls,
  parseInfo,
  redisVersion,
  roundTrips,
  startRedis,
} from './lib/redis.mjs';
import { median } from './lib/report.mjs';
import { learnRate, SCENARIOS, SERVERS } from './lib/servers.mjs';
import { HOST, readOptions, REPO_ROOT, serverEnv } from './lib/settings.mjs';

const LOAD_SCRIPT = join(REPO_ROOT, 'scripts/bench/load.mjs');
/** As run.mjs: let the last outcome writes land before reading CPU and Redis counters. */
const SETTLE_MS = 250;
/** As run.mjs: the servers on core 1 of their own; Redis, its replica and the load generator unpinned. */
const SERVER_CPU = '1';
/** The service's default REDIS_REPLICA_TIMEOUT_MS, left as it is. */
const REPLICA_TIMEOUT_MS = 500;
const TOKEN_ATTEMPTS = 3;

const log = (message) => console.error(`[bench:replicas] ${message}`);

/** The service as run.mjs runs it; only REDIS_MIN_REPLICAS differs between the two. */
const SERVICE = SERVERS.find((server) => server.process === 'service');
const SETTINGS = [0, 1].map((minReplicas) => ({
  ...SERVICE,
  name: `minReplicas ${minReplicas}`,
  process: `service-min${minReplicas}`,
  minReplicas,
  env: { REDIS_MIN_REPLICAS: String(minReplicas) },
}));

function readKnobs() {
  const scenarioIds = ['first-use', 'replay'];
  const options = readOptions({ servers: ['service'], scenarios: scenarioIds });
  const raw = process.env.BENCH_LOW_RATE;
  const lowRate = raw === undefined || raw === '' ? 200 : Number(raw);
  if (!Number.isInteger(lowRate) || lowRate < 1 || lowRate > 100_000)
    throw new Error(`BENCH_LOW_RATE must be a whole number from 1 to 100000, got ${raw}`);
  const passes = [
    {
      id: 'load',
      title:
        `${options.connections} connections, ` +
        (options.rate > 0 ? `${options.rate} req/s` : 'as fast as the server answers'),
      connections: options.connections,
      rate: options.rate,
    },
    {
      id: 'low',
      title: `1 connection, ${lowRate} req/s (one request at a time)`,
      connections: 1,
      rate: lowRate,
    },
  ];
  const scenarios = SCENARIOS.filter(({ id }) => options.scenarios.includes(id));
  return { options, passes, scenarios };
}

/** As run.mjs: `taskset -c 1` where it works and there is a second core. */
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

/** The primary, then its replica; resolves once the primary lists the replica `online`. */
async function startPair(dir) {
  const primary = await startRedis({
    name: 'redis-primary',
    extraArgs: ['--dir', dir, '--repl-diskless-sync-delay', '0'],
  });
  const { port } = new URL(primary.url);
  const replica = await startRedis({
    name: 'redis-replica',
    // No dump.rdb in the working directory: the replica loads the sync from the socket.
    extraArgs: ['--dir', dir, '--replicaof', HOST, port, '--repl-diskless-load', 'on-empty-db'],
  });
  await waitFor(
    'the replica online',
    async () =>
      /state=online/.test(parseInfo(await primary.admin.info('replication')).slave0 ?? ''),
    { timeoutMs: 30_000, child: replica.child },
  );
  return { primary, replica };
}

/** As run.mjs's startServer: stdout to /dev/null, stderr to a file, ready once /health is 200. */
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
  closeSync(stderr);
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

/** As run.mjs's loadArgs, plus --fine-latency. */
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
    '--fine-latency',
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

/** WAIT 1 on the orchestrator's connection: the replica holds everything written so far. */
async function replicaCaughtUp(admin) {
  const acknowledged = await admin.call('WAIT', '1', '5000');
  if (Number(acknowledged) < 1) throw new Error('the replica did not catch up within 5 s');
}

/** One timed run: the server's, both Redis' and the load generator's CPU, and the primary's calls. */
async function measuredRun(scenario, server, round, pass, ctx) {
  const { primary, replica } = ctx.pair;
  for (const child of [server.child, primary.child, replica.child])
    assertAlive(child, child === server.child ? server.child.benchHint : '');
  await primary.admin.flushall();
  const load = await server.scenarios[scenario.id](server, ctx);
  await replicaCaughtUp(primary.admin); // the pre-issued tokens too, before the clock starts
  const before = {
    server: cpuSeconds(server.child.pid),
    primary: cpuSeconds(primary.child.pid),
    replica: cpuSeconds(replica.child.pid),
    loader: reapedChildrenCpuSeconds(),
    calls: await commandCalls(primary.admin),
  };
  const result = await runJsonProcess(
    `load ${scenario.id} ${server.process}`,
    process.execPath,
    loadArgs(server.base, load, ctx.options),
    { cwd: REPO_ROOT, timeoutMs: (ctx.options.durationSeconds + 60) * 1000 },
  );
  const loaderCpuSeconds = reapedChildrenCpuSeconds() - before.loader;
  await delay(SETTLE_MS);
  assertAlive(server.child, server.child.benchHint);
  const calls = callsSince(before.calls, await commandCalls(primary.admin));
  const answered = result.statusCodeStats?.['201']?.count ?? 0;
  const completed = result.requests.total;
  const serverCpuSeconds = cpuSeconds(server.child.pid) - before.server;
  const problems = problemsOf(result, answered);
  return {
    round,
    pass: pass.id,
    scenario: scenario.id,
    setting: server.name,
    process: server.process,
    valid: problems.length === 0,
    problems,
    durationSeconds: result.duration,
    requestsAnswered: answered,
    requestsCompleted: completed,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: answered / result.duration,
    requestsPerServerCpuSecond: serverCpuSeconds > 0 ? answered / serverCpuSeconds : undefined,
    latencyMs: result.fineLatencyMs,
    autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    serverCpuSeconds,
    primaryCpuSeconds: cpuSeconds(primary.child.pid) - before.primary,
    replicaCpuSeconds: cpuSeconds(replica.child.pid) - before.replica,
    loaderCpuSeconds,
    redisCalls: calls,
    scriptsPerRequest: completed > 0 ? roundTrips(calls) / completed : undefined,
    waitsPerRequest: completed > 0 ? (calls.wait ?? 0) / completed : undefined,
    perRequest: result.perRequest,
  };
}

/** As run.mjs's: any answer but 201, a socket error, or tokens that ran out. */
function problemsOf(result, answered) {
  const problems = [];
  const others = Object.entries(result.statusCodeStats ?? {}).filter(
    ([status]) => status !== '201',
  );
  if (others.length > 0)
    problems.push(
      `answers of other statuses than 201: ${JSON.stringify(Object.fromEntries(others))}`,
    );
  if (result.errors > 0) problems.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  if (result.perRequest?.exhausted > 0)
    problems.push(`tokens ran out: ${result.perRequest.exhausted} requests without one`);
  if (answered === 0) problems.push('no request answered');
  return problems;
}

/** As run.mjs's runWithEnoughTokens: a run whose tokens ran out is run again with twice as many. */
async function runWithEnoughTokens(scenario, server, round, pass, ctx) {
  for (let attempt = 1; ; attempt += 1) {
    const run = await measuredRun(scenario, server, round, pass, ctx);
    const flag = run.valid ? '' : `  INVALID: ${run.problems.join('; ')}`;
    ctx.log(
      `  ${run.setting.padEnd(13)} ${Math.round(run.requestsPerSecond).toString().padStart(6)} req/s  ` +
        `${Math.round(run.requestsPerServerCpuSecond ?? 0)} req/CPU-s  p50 ${run.latencyMs?.p50} ms  ` +
        `p99 ${run.latencyMs?.p99} ms  WAIT/req ${run.waitsPerRequest?.toFixed(2)}${flag}`,
    );
    learnRate(ctx, run);
    if (!(run.perRequest?.exhausted > 0) || attempt === TOKEN_ATTEMPTS) return run;
    ctx.log('  again, with twice as many tokens');
  }
}

/** Proves both answer the contract, and that only minReplicas 1 sends WAIT (and does). */
async function preflight(server, admin) {
  const before = await commandCalls(admin);
  await server.preflight(server.base, admin);
  const waits = callsSince(before, await commandCalls(admin)).wait ?? 0;
  if (waits > 0 !== server.minReplicas > 0)
    throw new Error(`${server.process}: ${waits} WAIT calls in the preflight`);
  return waits;
}

const rotated = (list, round) => list.map((_, i) => list[(i + round - 1) % list.length]);

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

// ---- report ----

const fmt = (value, digits = 0) =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
const signed = (value, digits) =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : `${value >= 0 ? '+' : '−'}${fmt(Math.abs(value), digits)}`;
const share = (cpu, run) => (cpu / run.durationSeconds) * 100;
const row = (cells) => `| ${cells.join(' | ')} |`;

/** Medians over the valid runs of one pass, scenario and setting. */
function summarize(runs) {
  const of = (pick) => median(runs.map(pick));
  return {
    runs: runs.length,
    requestsPerSecond: of((run) => run.requestsPerSecond),
    requestsPerServerCpuSecond: of((run) => run.requestsPerServerCpuSecond),
    p50: of((run) => run.latencyMs?.p50),
    p99: of((run) => run.latencyMs?.p99),
    waitsPerRequest: of((run) => run.waitsPerRequest),
    scriptsPerRequest: of((run) => run.scriptsPerRequest),
    server: of((run) => share(run.serverCpuSeconds, run)),
    primary: of((run) => share(run.primaryCpuSeconds, run)),
    replica: of((run) => share(run.replicaCpuSeconds, run)),
    loader: of((run) => share(run.loaderCpuSeconds, run)),
  };
}

function report({ meta, passes, scenarios, runs }) {
  const valid = runs.filter((run) => run.valid);
  const cell = (pass, scenario, setting) =>
    valid.filter(
      (run) => run.pass === pass.id && run.scenario === scenario.id && run.setting === setting.name,
    );
  const latencyDigits = (pass) => (pass.id === 'low' ? 3 : 2);
  const results = [
    row([
      'pass',
      'scenario',
      'REDIS_MIN_REPLICAS',
      'req/s',
      'req per CPU-s',
      'p50 ms',
      'p99 ms',
      'WAIT / req',
      'scripts / req',
      'CPU: server / primary / replica / load gen.',
    ]),
    row(Array(10).fill('---')),
  ];
  const costs = [
    row([
      'pass',
      'scenario',
      'p50 added',
      'p99 added',
      'req per CPU-s, 1 / 0',
      'per round',
      'req/s, 1 / 0',
    ]),
    row(Array(7).fill('---')),
  ];
  for (const pass of passes)
    for (const scenario of scenarios) {
      const [zero, one] = SETTINGS.map((setting) => summarize(cell(pass, scenario, setting)));
      SETTINGS.forEach((setting, i) => {
        const s = [zero, one][i];
        results.push(
          row([
            pass.id === 'load' ? 'load' : 'low rate',
            scenario.title,
            String(setting.minReplicas),
            fmt(s.requestsPerSecond),
            fmt(s.requestsPerServerCpuSecond),
            fmt(s.p50, latencyDigits(pass)),
            fmt(s.p99, latencyDigits(pass)),
            fmt(s.waitsPerRequest, 2),
            fmt(s.scriptsPerRequest, 2),
            `${fmt(s.server)} / ${fmt(s.primary)} / ${fmt(s.replica)} / ${fmt(s.loader)} %`,
          ]),
        );
      });
      // Each round's pair, in time order: how far a ratio moves between rounds is the noise.
      const perRound = [...new Set(runs.map((run) => run.round))]
        .map((round) => {
          const [a, b] = SETTINGS.map(
            (setting) =>
              cell(pass, scenario, setting).find((run) => run.round === round)
                ?.requestsPerServerCpuSecond,
          );
          return a && b ? fmt(b / a, 2) : '—';
        })
        .join(', ');
      costs.push(
        row([
          pass.id === 'load' ? 'load' : 'low rate',
          scenario.title,
          `${signed(one.p50 - zero.p50, 3)} ms`,
          `${signed(one.p99 - zero.p99, 3)} ms`,
          fmt(one.requestsPerServerCpuSecond / zero.requestsPerServerCpuSecond, 2),
          perRound,
          fmt(one.requestsPerSecond / zero.requestsPerSecond, 2),
        ]),
      );
    }
  const invalid = runs.filter((run) => !run.valid);
  const { options } = meta;
  return [
    '## Benchmark: REDIS_MIN_REPLICAS=0 vs 1; one primary, one loopback replica, one load generator',
    '',
    `${meta.startedAt} · revision ${meta.revision} · Node ${meta.node} · Redis ${meta.redis} · ${meta.cpus} CPUs · ` +
      `${meta.pinning} · ${options.rounds} round(s) × ${options.durationSeconds} s per run · ` +
      `REDIS_REPLICA_TIMEOUT_MS=${REPLICA_TIMEOUT_MS} (default)` +
      (options.logLevel ? ` · LOG_LEVEL=${options.logLevel}` : ''),
    '',
    ...passes.map((pass) => `- ${pass.id === 'load' ? 'load' : 'low rate'}: ${pass.title}`),
    '',
    'Medians over valid runs. Latency: every 201 answer timed by the load generator (µs digits, ' +
      'not corrected for coordinated omission). req per CPU-s: answers per CPU-second of the ' +
      'service process. WAIT and scripts per request: calls the primary counted (INFO ' +
      'commandstats) per completed request. CPU: % of one core over the run.',
    '',
    ...results,
    '',
    '### What REDIS_MIN_REPLICAS=1 adds',
    '',
    'Differences and ratios of the medians above; "per round": the ratio of each round\'s pair ' +
      '(the two settings run back to back), in time order.',
    '',
    ...costs,
    ...(invalid.length > 0
      ? [
          '',
          '### Runs that do not count',
          '',
          ...invalid.map(
            (run) =>
              `- round ${run.round}, ${run.pass}, ${run.scenario}, ${run.setting}: ${run.problems.join('; ')}`,
          ),
        ]
      : []),
    '',
  ].join('\n');
}

async function main() {
  const startedAt = new Date().toISOString();
  const { options, passes, scenarios } = readKnobs();
  if (!existsSync(join(REPO_ROOT, 'dist/main.js')))
    throw new Error('dist/main.js is missing: run `npm run build` first');
  const pin = pinning(options);
  const tmp = mkdtempSync(join(tmpdir(), 'idem-bench-replicas-'));
  let pair;
  installCleanup(async () => {
    pair?.primary.admin.disconnect();
    pair?.replica.admin.disconnect();
    rmSync(tmp, { recursive: true, force: true });
  });

  try {
    pair = await startPair(tmp);
    log(
      `redis-server ${await redisVersion(pair.primary.admin)}: primary ${pair.primary.url}, ` +
        `replica ${pair.replica.url} (online); ${pin.note}`,
    );
    const started = [];
    for (const setting of SETTINGS) {
      started.push(await startServer(setting, pair.primary.url, { options, pin }));
      log(`${setting.process} on ${started.at(-1).base} (pid ${started.at(-1).child.pid})`);
    }
    for (const server of started)
      log(`preflight ${server.process}: ${await preflight(server, pair.primary.admin)} WAIT calls`);

    const ctx = {
      pair,
      redis: pair.primary,
      rates: {},
      log,
      writeLines: (name, lines) => {
        const file = join(tmp, `${name}.txt`);
        writeFileSync(file, lines.join('\n'));
        return file;
      },
    };
    const runs = [];
    for (let round = 1; round <= options.rounds; round += 1)
      for (const pass of passes) {
        const passCtx = {
          ...ctx,
          options: { ...options, connections: pass.connections, rate: pass.rate },
        };
        for (const scenario of scenarios) {
          log(`round ${round}/${options.rounds}, ${pass.title}: ${scenario.title}`);
          for (const server of rotated(started, round))
            runs.push(await runWithEnoughTokens(scenario, server, round, pass, passCtx));
        }
      }

    const replication = parseInfo(await pair.primary.admin.info('replication'));
    log(`after the runs: ${replication.slave0}`);
    const meta = {
      startedAt,
      revision: gitRevision(),
      node: process.version,
      redis: await redisVersion(pair.primary.admin),
      cpus: cpus().length,
      pinning: pin.note,
      options,
      passes,
      replication: replication.slave0,
    };
    mkdirSync(options.resultsDir, { recursive: true });
    const rawFile = join(options.resultsDir, 'replicas-latest.json');
    writeFileSync(rawFile, `${JSON.stringify({ meta, runs }, null, 2)}\n`);
    process.stdout.write(report({ meta, passes, scenarios, runs }));
    log(`raw results: ${rawFile}`);
  } finally {
    closeAgent();
    pair?.primary.admin.disconnect();
    pair?.replica.admin.disconnect();
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`[bench:replicas] failed: ${error.stack ?? error}`);
  process.exitCode = 1;
});
