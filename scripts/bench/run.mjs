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
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAgent } from './lib/http.mjs';
import { measureMemory } from './lib/memory.mjs';
import * as orchestration from './lib/orchestration.mjs';
import { assertAlive, installCleanup, stopAll } from './lib/processes.mjs';
import { redisVersion, roundTrips, startRedis } from './lib/redis.mjs';
import {
  cpuTable,
  invalidRuns,
  memoryTable,
  resultsTable,
  statusTable,
  summarize,
  targetChecks,
} from './lib/report.mjs';
import { SCENARIOS, SERVERS } from './lib/servers.mjs';
import { readOptions, REPO_ROOT } from './lib/settings.mjs';

const log = (message) => console.error(`[bench] ${message}`);

/** One timed run, with the server's, Redis' and the load generator's CPU and Redis' calls around it. */
async function measuredRun(scenario, server, round, ctx) {
  assertAlive(server.child, server.child.benchHint);
  assertAlive(ctx.redis.child);
  await ctx.redis.admin.flushall(); // every run starts from the same empty Redis
  const load = await server.scenarios[scenario.id](server, ctx);
  const { result, outcome, cpu, loaderCpuSeconds, calls } = await orchestration.timedLoad({
    scenario,
    server,
    load,
    options: ctx.options,
    admin: ctx.redis.admin,
    redises: { redis: ctx.redis.child },
  });
  return {
    round,
    scenario: scenario.id,
    server: server.name,
    process: server.process,
    ...outcome,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: outcome.requestsAnswered / result.duration,
    latencyMs: {
      average: result.latency.average,
      p50: result.latency.p50,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    serverCpuSeconds: cpu.server,
    redisCpuSeconds: cpu.redis,
    loaderCpuSeconds,
    requestsPerServerCpuSecond: cpu.server > 0 ? outcome.requestsAnswered / cpu.server : undefined,
    redisCalls: calls,
    roundTripsPerRequest:
      outcome.requestsCompleted > 0 ? roundTrips(calls) / outcome.requestsCompleted : undefined,
    perRequest: result.perRequest,
  };
}

/** A run's progress line; runWithEnoughTokens adds why it does not count, if it does not. */
function describeRun(run) {
  return (
    `  ${run.process.padEnd(12)} ${Math.round(run.requestsPerSecond).toString().padStart(7)} req/s  p99 ${run.latencyMs.p99} ms  ` +
    `server CPU ${run.serverCpuSeconds.toFixed(1)} s  Redis round trips/req ${run.roundTripsPerRequest?.toFixed(2) ?? 'n/a'}`
  );
}

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
    targetChecks(summary, memory, options, runs),
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
  const pin = orchestration.pinning(options);
  const tmp = mkdtempSync(join(tmpdir(), 'idem-bench-'));
  let redis;
  installCleanup(async () => {
    rmSync(tmp, { recursive: true, force: true });
    redis?.admin.disconnect();
  });

  try {
    redis = await startRedis();
    log(`redis-server ${await redisVersion(redis.admin)} on ${redis.url}; ${pin.note}`);
    const started = await orchestration.startServers(servers, redis.url, { options, pin, log });
    const checks = {};
    for (const server of started)
      checks[server.process] = await server.preflight(server.base, redis.admin);
    log('preflight: every server answers as it should');

    const ctx = orchestration.scenarioContext({ options, redis, log, dir: tmp });
    const runs = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const scenario of scenarios) {
        log(`round ${round}/${options.rounds}: ${scenario.title}`);
        for (const server of orchestration.rotated(started, round)) {
          if (!(scenario.id in server.scenarios)) continue;
          const measure = () => measuredRun(scenario, server, round, ctx);
          runs.push(await orchestration.runWithEnoughTokens(measure, describeRun, ctx));
        }
      }
    }

    let memory;
    if (options.memory) {
      log('Redis memory: 100 000 unused tokens (1 000 callers, then 1), 10 000 stored outcomes');
      memory = await measureMemory(redis.admin, redis.url);
    }

    const meta = {
      ...(await orchestration.runMeta({ startedAt, admin: redis.admin, pin, options })),
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
