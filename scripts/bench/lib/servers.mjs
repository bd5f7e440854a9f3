/**
 * What the benchmark compares: the scenarios, the servers, and for each server how each of its
 * scenarios is prepared (Redis and the server put in the run's starting state) and loaded (the
 * requests load.mjs sends). One table: a server without an entry for a scenario does not run it.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  contractPreflight,
  expectAnswer,
  issueToken,
  issueTokens,
  orderPreflight,
  send,
  TOKEN_HEADER,
  useOnce,
} from './http.mjs';
import { CALLERS, CALLERS_ENV, ORDER_BODY, readOptions, REPO_ROOT, SCOPE } from './settings.mjs';

/**
 * `accepted`: the statuses a run may answer; any other makes it invalid. The first counts as a
 * success; all of them count as answered (req/s, requests per CPU-second). `roundTrips`: the
 * Redis round trips per request the service should need (a target).
 */
export const SCENARIOS = [
  { id: 'issue', title: 'GET /tokens?scope=orders.create', roundTrips: 1, accepted: [200] },
  {
    id: 'issue-1000-callers',
    title: 'GET /tokens, 1 000 API-key callers, default limits',
    roundTrips: 1,
    accepted: [200, 429],
  },
  { id: 'first-use', title: 'POST /orders, first use', roundTrips: 2, accepted: [201] },
  { id: 'replay', title: 'POST /orders, replay of a used key', roundTrips: 1, accepted: [201] },
];

/** Token supply for a first-use run: the rate expected × duration × this margin (see tokenSupply). */
const TOKEN_MARGIN = 1.5;
const MIN_TOKENS = 5_000;
const MAX_TOKENS = 1_000_000;
const FALLBACK_RATE = 30_000 / 10; // 30 000 tokens for a 10 s run when nothing was measured yet
const KEEP_SECONDS = 86_400; // IDEMPOTENCY_RESULT_TTL_SECONDS, for the answers the bench stores

const ISSUE = { path: `/tokens?scope=${SCOPE}` };
const ORDER = {
  path: '/orders',
  method: 'POST',
  body: ORDER_BODY,
  headers: { 'content-type': 'application/json' },
};

/**
 * How a server learns which request a POST /orders is, as the headers of a new one: a token
 * the server at `base` issued, or a key the client chose.
 */
const KEY_HEADER = 'idempotency-key';
const newToken = async (base) => ({ [TOKEN_HEADER]: await issueToken(base) });
const newKey = async () => ({ [KEY_HEADER]: randomUUID() });

const issues = async () => ISSUE;

/**
 * How many tokens a first-use run may use: the server's fastest issue or first-use run so far
 * (issuing is usually the faster path), or the fixed rate; with a margin. Each server has its
 * own figure: their rates differ up to threefold.
 */
function tokenSupply(server, { options, rates }) {
  const seen = rates[server.process] ?? 0;
  const rate = options.rate > 0 ? options.rate : seen > 0 ? seen : FALLBACK_RATE;
  const wanted = Math.ceil(rate * options.durationSeconds * TOKEN_MARGIN) + options.connections * 4;
  return Math.min(MAX_TOKENS, Math.max(MIN_TOKENS, wanted));
}

/** Keeps tokenSupply's figure: a valid run's rate, or twice as many tokens after running out. */
export function learnRate(ctx, run) {
  const seen = ctx.rates[run.process] ?? 0;
  if (run.perRequest?.exhausted > 0) ctx.rates[run.process] = 2 * Math.max(seen, FALLBACK_RATE);
  else if (['issue', 'first-use'].includes(run.scenario) && run.valid)
    ctx.rates[run.process] = Math.max(seen, run.requestsPerSecond);
}

/** First uses, one pre-issued token each, issued over keep-alive by the server that takes them. */
async function tokenFirstUses(server, ctx) {
  const count = tokenSupply(server, ctx);
  const started = Date.now();
  const tokens = await issueTokens(server.base, count, {
    concurrency: 50,
    timeoutMs: 60_000 + count,
  });
  ctx.log(
    `  pre-issued ${count} tokens on ${server.process} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const file = ctx.writeLines(`tokens-${server.process}`, tokens);
  return { ...ORDER, perRequest: { mode: 'take', header: TOKEN_HEADER, file } };
}

/** First uses with a new key each, made by the load generator. */
const keyFirstUses = async () => ({ ...ORDER, perRequest: { mode: 'fresh', header: KEY_HEADER } });

/**
 * Replays: one token or key used once, its answer stored (by the server, or by `storeAnswer`),
 * then every timed request is a copy of it.
 */
const replays = (newHeaders, storeAnswer) => async (server, ctx) => {
  const headers = await newHeaders(server.base);
  await useOnce(server.base, headers, storeAnswer?.(ctx.redis.admin));
  return { ...ORDER, headers: { ...ORDER.headers, ...headers } };
};

/** The bare app never writes outcomes: the orchestrator stores the answer where its script reads it. */
const bareStoresAnswer = (admin) => (headers, body) =>
  admin.set(`bench:o:${headers[TOKEN_HEADER]}`, body, 'EX', KEEP_SECONDS);

const authorization = (caller) => `Bearer ${caller.key}`;

/** Token requests from the 1 000 callers in turn (`Authorization: Bearer <key>`). */
async function callerIssues(_server, ctx) {
  const file = ctx.writeLines('authorizations', CALLERS.map(authorization));
  return { ...ISSUE, perRequest: { mode: 'cycle', header: 'authorization', file } };
}

/**
 * Grants each caller spends before the timed run, of the 60 its window allows: every run
 * starts from an empty Redis, and without a history a 10 s run never reaches a limit (1 000
 * callers × 60 is more than the service issues in that time). With it, the run sees callers
 * with a window nearly full: 10 more grants each, then 429.
 */
const GRANTS_SPENT = 50;

/** callerIssues, on a limiter that already holds the callers' history (GRANTS_SPENT each). */
async function callerIssuesWithHistory(server, ctx) {
  const count = CALLERS.length * GRANTS_SPENT;
  const started = Date.now();
  await issueTokens(server.base, count, {
    timeoutMs: 60_000 + count,
    headersOf: (i) => ({ authorization: authorization(CALLERS[i % CALLERS.length]) }),
  });
  ctx.log(
    `  ${GRANTS_SPENT} grants spent by each of ${CALLERS.length} callers on ${server.process} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return callerIssues(server, ctx);
}

/** The 1 000-caller service answers only callers with a key, and issues them tokens. */
async function callersPreflight(base) {
  const anonymous = await send(`${base}/tokens?scope=${SCOPE}`);
  expectAnswer(anonymous.status === 401, 'GET /tokens without an API key: 401', anonymous);
  const caller = await send(`${base}/tokens?scope=${SCOPE}`, {
    headers: { authorization: authorization(CALLERS[0]) },
  });
  expectAnswer(caller.status === 200, 'GET /tokens with an API key: 200', caller);
  return { issueHeaders: Object.keys(caller.headers).sort() };
}

const PEER_DIR = join(REPO_ROOT, 'scripts/bench/peer');

/** The peer's own install (its package.json, --legacy-peer-deps), once; npm's output to stderr. */
function installPeer(log) {
  // npm writes node_modules/.package-lock.json last: without it an install did not finish.
  if (existsSync(join(PEER_DIR, 'node_modules/.package-lock.json'))) return;
  log('installing the peer: (cd scripts/bench/peer && npm run setup)');
  execFileSync('npm', ['run', 'setup'], {
    cwd: PEER_DIR,
    stdio: ['ignore', 2, 2],
    timeout: 600_000,
  });
}

/**
 * The servers, each a process of its own. `name` is the column of the report; the service
 * has two processes: the 1 000-caller scenario needs API keys and the default limits, the
 * others the open limiter of settings.mjs. `env` is added to serverEnv(). `preflight(base,
 * admin)` proves before any run that the server answers as it should. `scenarios` maps a
 * scenario to its preparation: (server, ctx) → the load (see loadArgs in lib/orchestration.mjs).
 */
const SERVICE = {
  name: 'service',
  label: 'service (NestJS + Fastify, @Idempotent())',
  args: ['dist/main.js'],
};

export const SERVERS = [
  {
    ...SERVICE,
    process: 'service',
    preflight: contractPreflight,
    scenarios: {
      issue: issues,
      'first-use': tokenFirstUses,
      replay: replays(newToken),
    },
  },
  {
    ...SERVICE,
    process: 'service-1000',
    env: CALLERS_ENV,
    preflight: callersPreflight,
    scenarios: { 'issue-1000-callers': callerIssuesWithHistory },
  },
  {
    name: 'module',
    process: 'module',
    label: "module (@idempotency-tokens/nestjs in the peer's plain Nest + Fastify app)",
    args: ['scripts/bench/module-server.mjs'],
    preflight: (base) => orderPreflight(base, newToken),
    scenarios: {
      issue: issues,
      'first-use': tokenFirstUses,
      replay: replays(newToken),
    },
  },
  {
    name: 'peer',
    process: 'peer',
    label: 'peer (@node-idempotency/nestjs 1.0.4)',
    args: ['scripts/bench/peer/server.mjs'],
    setup: installPeer,
    preflight: (base) => orderPreflight(base, newKey),
    scenarios: {
      'first-use': keyFirstUses,
      replay: replays(newKey),
    },
  },
  {
    name: 'bare',
    process: 'bare',
    label: 'bare Nest + Fastify (one Redis call)',
    args: ['scripts/bench/bare-server.mjs'],
    preflight: (base, admin) => orderPreflight(base, newToken, bareStoresAnswer(admin)),
    scenarios: {
      issue: issues,
      'issue-1000-callers': callerIssues,
      'first-use': tokenFirstUses,
      replay: replays(newToken, bareStoresAnswer),
    },
  },
  {
    name: 'raw',
    process: 'raw',
    label: "raw node:http (the service's Redis work)",
    args: ['scripts/bench/raw-server.mjs'],
    preflight: contractPreflight,
    scenarios: {
      issue: issues,
      'first-use': tokenFirstUses,
      replay: replays(newToken),
    },
  },
];

/**
 * What a tool that loads one server with one scenario (profile.mjs, ab.mjs) was asked for: the
 * server, the scenario and the run options for them, for `duration` seconds a run.
 */
export function oneServerRun({ server, scenario, duration }, resultsDir) {
  const found = SCENARIOS.find(({ id }) => id === scenario);
  const chosen = SERVERS.find(({ process }) => process === server);
  if (!found || !chosen?.scenarios[found.id])
    throw new Error(`no scenario ${scenario} on a server ${server}`);
  const options = {
    ...readOptions(
      { servers: [chosen.process], scenarios: [found.id] },
      { ...process.env, BENCH_DURATION: duration },
    ),
    resultsDir,
  };
  return { chosen, scenario: found, options };
}
