/**
 * `npm run bench`: the NestJS service against a raw node:http baseline doing the same Redis
 * work, on a Redis of its own. See docs/PERFORMANCE.md.
 *
 * Knobs: BENCH_DURATION (s per run, 10), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50),
 * BENCH_RATE (req/s for all connections, 0 = flat out), BENCH_MEMORY=0 skips the memory part,
 * BENCH_LOG_LEVEL sets the servers' LOG_LEVEL (default: the service's own, one line per request).
 * Progress goes to stderr, the report (Markdown) to stdout, the raw numbers to
 * scripts/bench/results/latest.json.
 */
import { execFileSync } from 'node:child_process';
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
import { baseUrl, closeAgent, issueTokens, preflight, send, usedToken } from './lib/http.mjs';
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
import { redisVersion, scriptCalls, startRedis } from './lib/redis.mjs';
import {
  cpuTable,
  invalidRuns,
  memoryTable,
  resultsTable,
  SCENARIOS,
  summarize,
  targetChecks,
} from './lib/report.mjs';
import {
  ORDER_BODY,
  readOptions,
  REPO_ROOT,
  RESULTS_DIR,
  SCOPE,
  serverEnv,
} from './lib/settings.mjs';

const AUTOCANNON_CLI = join(REPO_ROOT, 'node_modules/autocannon/autocannon.js');
const LOAD_SCRIPT = join(REPO_ROOT, 'scripts/bench/load.mjs');
/** Outcome writes are fire-and-forget: let the last ones land before reading CPU and Redis counters. */
const SETTLE_MS = 250;
/** Token supply for a first-use run: the rate expected × duration × this margin (see tokenSupply). */
const TOKEN_MARGIN = 1.5;
const MIN_TOKENS = 5_000;
const MAX_TOKENS = 1_000_000;
const FALLBACK_RATE = 30_000 / 10; // 30 000 tokens for a 10 s run when nothing was measured yet

const log = (message) => console.error(`[bench] ${message}`);

/**
 * stdout (the service's one JSON line per request) goes to /dev/null: writing it is part of the
 * service's cost, keeping it is not. stderr, empty unless something breaks, goes to a file.
 */
async function startServer(name, args, redisUrl, logLevel) {
  const port = await freePort();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stderrFile = join(RESULTS_DIR, `${name}.stderr.log`);
  const stderr = openSync(stderrFile, 'w');
  const child = startProcess(name, process.execPath, args, {
    cwd: REPO_ROOT,
    env: serverEnv({ port, redisUrl, logLevel }),
    stdio: ['ignore', 'ignore', stderr],
    critical: true,
  });
  closeSync(stderr); // the child has its own copy
  child.benchHint = `; see ${stderrFile}`;
  const base = baseUrl(port);
  try {
    await waitFor(
      `${name} on ${base}`,
      async () => (await send(`${base}/health`, { timeoutMs: 1_000 })).status === 200,
      { timeoutMs: 60_000, child },
    );
  } catch (error) {
    throw new Error(`${error.message}${child.benchHint}`, { cause: error });
  }
  return { name, child, base };
}

function autocannonCliArgs(options, url, { method = 'GET', headers = {}, body } = {}) {
  const args = [
    AUTOCANNON_CLI,
    '-c',
    String(options.connections),
    '-d',
    String(options.durationSeconds),
    '-j',
    '-n',
  ];
  if (options.rate > 0) args.push('-R', String(options.rate));
  if (method !== 'GET') args.push('-m', method);
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
  if (body !== undefined) args.push('-b', body);
  return [...args, url];
}

/**
 * How many tokens a first-use run may use: the fastest run of either server so far, GET /tokens
 * included (issuing is usually the faster path, and the two servers can differ twofold), or the
 * fixed rate; with a margin.
 */
function tokenSupply(ctx, options) {
  const seen = Math.max(ctx.rates.issue, ctx.rates['first-use']);
  const rate = options.rate > 0 ? options.rate : seen > 0 ? seen : FALLBACK_RATE;
  const wanted = Math.ceil(rate * options.durationSeconds * TOKEN_MARGIN) + options.connections * 4;
  return Math.min(MAX_TOKENS, Math.max(MIN_TOKENS, wanted));
}

/** Per scenario: puts Redis and the server in the run's starting state, returns the load command. */
const PREPARE = {
  async issue(server, ctx) {
    return autocannonCliArgs(ctx.options, `${server.base}/tokens?scope=${SCOPE}`);
  },
  async 'first-use'(server, ctx) {
    const count = tokenSupply(ctx, ctx.options);
    const started = Date.now();
    const tokens = await issueTokens(server.base, count, {
      concurrency: 50,
      timeoutMs: 60_000 + count,
    });
    log(
      `  pre-issued ${count} tokens on ${server.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const file = join(ctx.tmp, `tokens-${server.name}.txt`);
    writeFileSync(file, tokens.join('\n'));
    return [
      LOAD_SCRIPT,
      '--url',
      `${server.base}/orders`,
      '--tokens',
      file,
      '--connections',
      String(ctx.options.connections),
      '--duration',
      String(ctx.options.durationSeconds),
      '--body',
      ORDER_BODY,
      '--rate',
      String(ctx.options.rate),
    ];
  },
  async replay(server, ctx) {
    const token = await usedToken(server.base);
    return autocannonCliArgs(ctx.options, `${server.base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-token': token },
      body: ORDER_BODY,
    });
  },
};

/** One timed run, with the server's, Redis' and the load generator's CPU and Redis' script calls around it. */
async function measuredRun(scenario, server, round, ctx) {
  assertAlive(server.child, server.child.benchHint);
  assertAlive(ctx.redis.child);
  await ctx.redis.admin.flushall(); // every run starts from the same empty Redis
  const args = await PREPARE[scenario](server, ctx);
  const before = {
    server: cpuSeconds(server.child.pid),
    redis: cpuSeconds(ctx.redis.child.pid),
    loader: reapedChildrenCpuSeconds(),
    calls: await scriptCalls(ctx.redis.admin),
  };
  const result = await runJsonProcess(`load ${scenario} ${server.name}`, process.execPath, args, {
    cwd: REPO_ROOT,
    timeoutMs: (ctx.options.durationSeconds + 60) * 1000,
  });
  const loaderCpuSeconds = reapedChildrenCpuSeconds() - before.loader;
  await delay(SETTLE_MS);
  assertAlive(server.child, server.child.benchHint); // a server that died mid-run has no CPU to read
  const serverCpuSeconds = cpuSeconds(server.child.pid) - before.server;
  const redisCpuSeconds = cpuSeconds(ctx.redis.child.pid) - before.redis;
  const calls = (await scriptCalls(ctx.redis.admin)) - before.calls;
  return toRecord({
    scenario,
    server: server.name,
    round,
    result,
    serverCpuSeconds,
    redisCpuSeconds,
    loaderCpuSeconds,
    calls,
  });
}

function toRecord({
  scenario,
  server,
  round,
  result,
  serverCpuSeconds,
  redisCpuSeconds,
  loaderCpuSeconds,
  calls,
}) {
  const ok = result['2xx'];
  const completed = result.requests.total;
  const problems = [];
  if (result.non2xx > 0)
    problems.push(`${result.non2xx} non-2xx answers ${JSON.stringify(result.statusCodeStats)}`);
  if (result.errors > 0) problems.push(`${result.errors} errors (${result.timeouts} timeouts)`);
  if (result.tokens?.exhausted > 0)
    problems.push(`tokens ran out: ${result.tokens.exhausted} requests without one`);
  if (ok === 0) problems.push('no successful request');
  return {
    round,
    scenario,
    server,
    valid: problems.length === 0,
    problems,
    durationSeconds: result.duration,
    requests2xx: ok,
    requestsCompleted: completed,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    requestsPerSecond: ok / result.duration, // successes only: a 400 is never throughput
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
    requestsPerServerCpuSecond: serverCpuSeconds > 0 ? ok / serverCpuSeconds : undefined,
    scriptCallsPerRequest: completed > 0 ? calls / completed : undefined,
    tokens: result.tokens,
  };
}

function describeRun(run) {
  const flag = run.valid ? '' : `  INVALID: ${run.problems.join('; ')}`;
  return (
    `  ${run.server.padEnd(7)} ${Math.round(run.requestsPerSecond).toString().padStart(7)} req/s  p99 ${run.latencyMs.p99} ms  ` +
    `server CPU ${run.serverCpuSeconds.toFixed(1)} s  Redis calls/req ${run.scriptCallsPerRequest?.toFixed(2)}${flag}`
  );
}

function gitRevision() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }).trim() !== '';
    return dirty ? `${head} (src/ has uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

function report({ meta, summary, runs, memory }) {
  const { options } = meta;
  return [
    `## Benchmark: service (NestJS + Fastify) vs raw node:http, same Redis work`,
    '',
    `${meta.startedAt} · revision ${meta.revision} · Node ${meta.node} · Redis ${meta.redis} · ${meta.cpus} CPUs · ` +
      `${options.rounds} round(s) × ${options.durationSeconds} s per run · ${options.connections} connections · ` +
      (options.rate > 0 ? `fixed rate ${options.rate} req/s` : 'as fast as the server answers') +
      (options.logLevel ? ` · LOG_LEVEL=${options.logLevel}` : ''),
    '',
    'Medians over valid runs. req/s counts 2xx answers only.',
    '',
    resultsTable(summary),
    '',
    cpuTable(summary),
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

async function main() {
  const startedAt = new Date().toISOString();
  const options = readOptions();
  if (!existsSync(join(REPO_ROOT, 'dist/main.js')))
    throw new Error('dist/main.js is missing: run `npm run build` (npm run bench does)');
  const tmp = mkdtempSync(join(tmpdir(), 'idem-bench-'));
  let redis;
  installCleanup(async () => {
    rmSync(tmp, { recursive: true, force: true });
    redis?.admin.disconnect();
  });

  try {
    redis = await startRedis();
    log(`redis-server ${await redisVersion(redis.admin)} on ${redis.url}`);
    const service = await startServer('service', ['dist/main.js'], redis.url, options.logLevel);
    const raw = await startServer(
      'raw',
      ['scripts/bench/raw-server.mjs'],
      redis.url,
      options.logLevel,
    );
    log(
      `service on ${service.base} (pid ${service.child.pid}), raw on ${raw.base} (pid ${raw.child.pid})`,
    );

    const checks = { service: await preflight(service.base), raw: await preflight(raw.base) };
    log('preflight: both servers issue, place, replay and refuse alike');

    const ctx = { options, redis, tmp, rates: { issue: 0, 'first-use': 0 } };
    const runs = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      const order = round % 2 === 1 ? [service, raw] : [raw, service]; // who goes first alternates
      for (const { id, title } of SCENARIOS) {
        log(`round ${round}/${options.rounds}: ${title}`);
        for (const server of order) {
          const run = await measuredRun(id, server, round, ctx);
          runs.push(run);
          log(describeRun(run));
          if (id in ctx.rates && run.valid)
            ctx.rates[id] = Math.max(ctx.rates[id], run.requestsPerSecond);
          if (run.tokens?.exhausted > 0)
            ctx.rates['first-use'] =
              2 * Math.max(ctx.rates['first-use'], ctx.rates.issue, FALLBACK_RATE);
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
      options,
      preflight: checks,
    };
    const summary = summarize(runs);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(
      join(RESULTS_DIR, 'latest.json'),
      `${JSON.stringify({ meta, summary, memory, runs }, null, 2)}\n`,
    );
    process.stdout.write(report({ meta, summary, runs, memory }));
    log(`raw results: ${join(RESULTS_DIR, 'latest.json')}`);
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
