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
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAgent } from './lib/http.mjs';
import * as orchestration from './lib/orchestration.mjs';
import { assertAlive, installCleanup, stopAll, waitFor } from './lib/processes.mjs';
import {
  callsSince,
  commandCalls,
  parseInfo,
  redisVersion,
  roundTrips,
  startRedis,
} from './lib/redis.mjs';
import { fmt, median, tableRow as row } from './lib/report.mjs';
import { SCENARIOS, SERVERS } from './lib/servers.mjs';
import { HOST, readOptions, REPO_ROOT } from './lib/settings.mjs';

/** The service's default REDIS_REPLICA_TIMEOUT_MS, left as it is. */
const REPLICA_TIMEOUT_MS = 500;

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
  const { result, outcome, cpu, loaderCpuSeconds, calls } = await orchestration.timedLoad({
    scenario,
    server,
    load,
    options: ctx.options,
    admin: primary.admin,
    redises: { primary: primary.child, replica: replica.child },
    fineLatency: true,
  });
  return {
    round,
    pass: pass.id,
    scenario: scenario.id,
    setting: server.name,
    process: server.process,
    ...outcome,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: outcome.requestsAnswered / result.duration,
    requestsPerServerCpuSecond: cpu.server > 0 ? outcome.requestsAnswered / cpu.server : undefined,
    latencyMs: result.fineLatencyMs,
    autocannonLatencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
    serverCpuSeconds: cpu.server,
    primaryCpuSeconds: cpu.primary,
    replicaCpuSeconds: cpu.replica,
    loaderCpuSeconds,
    redisCalls: calls,
    scriptsPerRequest:
      outcome.requestsCompleted > 0 ? roundTrips(calls) / outcome.requestsCompleted : undefined,
    waitsPerRequest:
      outcome.requestsCompleted > 0 ? (calls.wait ?? 0) / outcome.requestsCompleted : undefined,
    perRequest: result.perRequest,
  };
}

/** A run's progress line; runWithEnoughTokens adds why it does not count, if it does not. */
function describeRun(run) {
  return (
    `  ${run.setting.padEnd(13)} ${Math.round(run.requestsPerSecond).toString().padStart(6)} req/s  ` +
    `${Math.round(run.requestsPerServerCpuSecond ?? 0)} req/CPU-s  p50 ${run.latencyMs?.p50} ms  ` +
    `p99 ${run.latencyMs?.p99} ms  WAIT/req ${run.waitsPerRequest?.toFixed(2)}`
  );
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

// ---- report ----

const signed = (value, digits) =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : `${value >= 0 ? '+' : '−'}${fmt(Math.abs(value), digits)}`;
const share = (cpu, run) => (cpu / run.durationSeconds) * 100;

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
  const pin = orchestration.pinning(options);
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
    const started = await orchestration.startServers(SETTINGS, pair.primary.url, {
      options,
      pin,
      log,
    });
    for (const server of started)
      log(`preflight ${server.process}: ${await preflight(server, pair.primary.admin)} WAIT calls`);

    const ctx = {
      ...orchestration.scenarioContext({ options, redis: pair.primary, log, dir: tmp }),
      pair,
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
          for (const server of orchestration.rotated(started, round)) {
            const measure = () => measuredRun(scenario, server, round, pass, passCtx);
            runs.push(await orchestration.runWithEnoughTokens(measure, describeRun, passCtx));
          }
        }
      }

    const replication = parseInfo(await pair.primary.admin.info('replication'));
    log(`after the runs: ${replication.slave0}`);
    const meta = {
      ...(await orchestration.runMeta({ startedAt, admin: pair.primary.admin, pin, options })),
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
