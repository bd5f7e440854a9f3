/**
 * The baseline: GET /tokens and POST /orders on raw `node:http`, doing the service's Redis work
 * with the service's own compiled code (store, Lua scripts, codec, fingerprint, limiter policy,
 * outcome encoding, problem bodies) and the same client options. What it leaves out is Nest and
 * Fastify: routing, guards, interceptors, filters, pipes, class-validator. The gap between the
 * two is what the framework costs.
 *
 * Usage (run.mjs starts it): PORT=… REDIS_URL=… TOKEN_SECRET=… node scripts/bench/raw-server.mjs
 * Needs `npm run build` first. Same environment variables as the service (see .env.example).
 */
import 'reflect-metadata'; // the module's dist declares Nest providers at import; never on the request path
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { ConfigError, loadConfig } from '../../dist/config/app-config.js';
import { fingerprintOf } from '../../packages/nestjs/dist/fingerprint.js';
import {
  REPLAYED_HEADER,
  RedisTokenStore,
  StoreUnavailableError,
  TOKEN_CONSUMED_HEADER,
  TOKEN_HEADER,
} from '../../packages/nestjs/dist/index.js';
import {
  limiterPolicies,
  rateLimitHeaders,
  retryAfterSeconds,
} from '../../packages/nestjs/dist/limiter/limiter-policy.js';
import {
  decodeOutcome,
  encodeOutcome,
} from '../../packages/nestjs/dist/outcomes/stored-response.js';
import * as problems from '../../packages/nestjs/dist/problems/idempotency.problems.js';
import { ProblemException } from '../../packages/nestjs/dist/problems/problem.exception.js';
import { parseIssueQuery } from '../../packages/nestjs/dist/tokens/issue-token.query.js';
import { TokenCodec } from '../../packages/nestjs/dist/tokens/token-codec.js';
import { createRedisClient, waitForReady } from '../../dist/redis/redis-client.factory.js';

/** the contract's body limit, as BODY_LIMIT_BYTES in src/app.setup.ts (not imported: that file loads all of Nest). */
const BODY_LIMIT_BYTES = 1024 * 1024;
/** The module's default (IdempotencySettings.maxStoredResponseBytes); the service does not change it. */
const MAX_STORED_RESPONSE_BYTES = 65_536;
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_JSON = 'application/problem+json';
/** The demo handler: `@Idempotent({ scope: 'orders.create' })` with replay on. */
const ORDERS_SCOPE = 'orders.create';
const STORE_RETRY_AFTER_SECONDS = 2;

function readConfig() {
  try {
    const config = loadConfig();
    if (config.tokenSecretGenerated || !config.redisUrl)
      throw new ConfigError('raw-server needs TOKEN_SECRET and REDIS_URL');
    return config;
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}

const config = readConfig();
const redis = createRedisClient(config); // the fail-fast options, exactly as the service's RedisModule
const store = new RedisTokenStore(redis); // default key prefix `idem:`, as the module
const codec = new TokenCodec(config.tokenSecret);
// The same policy lookup AppModule gives the module: `limits` from the environment, no per-scope limits.
const policyFor = limiterPolicies({
  rateLimit: config.tokenRateLimit,
  rateWindowSeconds: config.tokenRateWindowSeconds,
  maxOutstanding: config.tokenMaxOutstanding,
});
/** The demo's OrdersService keeps its newest 10 000 orders in memory: so does the baseline. */
const KEPT_ORDERS = 10_000;
const orders = new Map();
const pendingWrites = new Set();

/** Anonymous callers, as the service without API_KEYS; `request.ip` on Fastify is the socket address. */
const callerOf = (req) => ({ subject: undefined, address: req.socket.remoteAddress ?? 'unknown' });

function reply(res, status, headers, body) {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function problemAnswer(exception) {
  return {
    status: exception.problem.status,
    headers: { ...exception.headers, 'content-type': PROBLEM_JSON },
    body: JSON.stringify(exception.problem),
  };
}

function sendStored(res, answer, extraHeaders = {}) {
  reply(res, answer.status, { ...answer.headers, ...extraHeaders }, answer.body ?? '');
}

/** GET /tokens: TokensController + TokensService without Nest. */
async function issueToken(req, res, search) {
  const { scope, ttlSeconds = config.tokenTtlSeconds } = parseIssueQuery(
    Object.fromEntries(new URLSearchParams(search)),
    config.maxTokenTtlSeconds,
  );
  const caller = callerOf(req);
  const { token, ref } = codec.create(caller);
  const policy = policyFor(scope);
  const result = await store.issue({
    ref,
    binding: codec.bindingOf(caller, scope),
    ttlMs: ttlSeconds * 1000,
    limits: policy,
  });
  const headers = rateLimitHeaders(policy, result);
  if (!result.granted) {
    const refuse =
      result.refusal === 'rate' ? problems.tokenRateLimited : problems.tokenQuotaExceeded;
    throw refuse(retryAfterSeconds(result.retryAfterMs), headers);
  }
  const issued = {
    token,
    scope: scope ?? null,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    expiresIn: ttlSeconds,
  };
  reply(
    res,
    200,
    { 'cache-control': 'no-store', ...headers, 'content-type': JSON_TYPE },
    JSON.stringify(issued),
  );
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        req.destroy();
        reject(problems.payloadTooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** What Fastify's JSON parser does before any guard: content type, size, JSON. */
async function parsedJsonBody(req) {
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    throw new ProblemException({
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      title: 'Unsupported media type',
      detail: 'Send application/json.',
    });
  }
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw problems.malformedRequest(
      `The request body is not valid JSON (${error.message}). Nothing was consumed.`,
    );
  }
}

/** CreateOrderDto under ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }), by hand. */
function orderErrors(body) {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return ['body must be an object'];
  const errors = Object.keys(body)
    .filter((key) => key !== 'item' && key !== 'quantity')
    .map((key) => `property ${key} should not exist`);
  const { item, quantity } = body;
  if (typeof item !== 'string' || item.length < 1 || item.length > 100)
    errors.push('item must be a string of 1 to 100 characters');
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > 1000)
    errors.push('quantity must be an integer from 1 to 1000');
  return errors;
}

/** OrdersController.create + the interceptor's stored answer. */
function placeOrder(body) {
  const errors = orderErrors(body);
  if (errors.length > 0)
    return problemAnswer(
      problems.validationFailed('The request body is not valid: see errors.', errors),
    );
  const order = {
    id: randomUUID(),
    item: body.item,
    quantity: body.quantity,
    createdAt: new Date().toISOString(),
  };
  orders.set(order.id, order);
  if (orders.size > KEPT_ORDERS) orders.delete(orders.keys().next().value);
  return {
    status: 201,
    headers: { location: `/orders/${order.id}`, 'content-type': JSON_TYPE },
    body: JSON.stringify(order),
  };
}

/** OutcomeRecorder.record: fire and forget, compare-and-set on the owner, awaited only at shutdown. */
function recordOutcome(ref, owner, answer) {
  const keepable =
    Buffer.byteLength(answer.body) <= MAX_STORED_RESPONSE_BYTES
      ? answer
      : { status: answer.status, headers: {} };
  const write = store
    .recordOutcome(ref, owner, encodeOutcome(keepable), config.resultTtlSeconds * 1000)
    .then((recorded) => {
      if (!recorded) console.error('Outcome not recorded: the marker expired or changed hands');
    })
    .catch((error) => console.error(`Outcome not recorded: ${error.message}`))
    .finally(() => pendingWrites.delete(write));
  pendingWrites.add(write);
}

/** POST /orders: the body parser, IdempotencyInterceptor, the handler and the recorder without Nest. */
async function createOrder(req, res) {
  const body = await parsedJsonBody(req);
  const header = req.headers[TOKEN_HEADER];
  if (header === undefined || header === '') throw problems.tokenMissing();
  const ref = codec.verify(header);
  if (!ref) throw problems.tokenInvalid();
  const caller = callerOf(req);
  const owner = randomBytes(12).toString('base64url');
  let fingerprint;
  try {
    fingerprint = fingerprintOf(req.method, req.url, body);
  } catch (error) {
    throw problems.malformedRequest(
      `The request body cannot be canonicalised: ${error.message}. Nothing was consumed.`,
    );
  }
  const result = await store.consume({
    ref,
    owner,
    bucket: policyFor(ORDERS_SCOPE).bucket,
    binding: codec.bindingOf(caller, ORDERS_SCOPE),
    fingerprint,
    leaseMs: config.inProgressTtlSeconds * 1000,
    keepMs: config.resultTtlSeconds * 1000,
  });
  if (result.state === 'unknown') throw problems.tokenUnknown();
  res.setHeader(TOKEN_CONSUMED_HEADER, 'true');
  switch (result.state) {
    case 'first': {
      const answer = placeOrder(body);
      sendStored(res, answer);
      recordOutcome(ref, owner, answer);
      return;
    }
    case 'mismatch':
      throw problems.payloadMismatch();
    case 'in_progress':
      throw problems.requestInProgress(1);
    case 'used':
      throw problems.tokenUsed();
    case 'done': {
      const stored = decodeOutcome(result.outcome);
      if (stored.body === undefined) throw problems.tokenUsed();
      sendStored(res, stored, { [REPLAYED_HEADER]: 'true' });
      return;
    }
  }
}

async function health(res) {
  await store.ping();
  reply(res, 200, { 'content-type': JSON_TYPE }, '{"status":"ok"}');
}

/** ProblemDetailsFilter, reduced: problems as they are, store failures as 503, anything else 500. */
function sendError(res, error) {
  if (res.headersSent) return void res.destroy();
  let exception = error;
  if (error instanceof StoreUnavailableError)
    exception = problems.storeUnavailable(STORE_RETRY_AFTER_SECONDS);
  else if (!(error instanceof ProblemException)) {
    console.error(`Unexpected error: ${error?.stack ?? error}`);
    exception = new ProblemException({
      status: 500,
      code: 'INTERNAL_SERVER_ERROR',
      title: 'Internal server error',
      detail: 'The server failed to answer this request.',
    });
  }
  sendStored(res, problemAnswer(exception));
}

async function route(req, res) {
  const queryAt = req.url.indexOf('?');
  const path = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
  if (req.method === 'GET' && path === '/tokens')
    return issueToken(req, res, queryAt === -1 ? '' : req.url.slice(queryAt + 1));
  if (req.method === 'POST' && path === '/orders') return createOrder(req, res);
  if (req.method === 'GET' && path === '/health') return health(res);
  throw new ProblemException({
    status: 404,
    code: 'NOT_FOUND',
    title: 'Not found',
    detail: `Cannot ${req.method} ${path}`,
  });
}

const server = createServer((req, res) => {
  route(req, res).catch((error) => sendError(res, error));
});

async function shutdown() {
  server.close();
  server.closeAllConnections();
  await Promise.race([
    Promise.allSettled([...pendingWrites]),
    new Promise((resolve) => setTimeout(resolve, 3_000)),
  ]);
  await redis.quit().catch(() => redis.disconnect());
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());

if (!(await waitForReady(redis, 5_000)))
  console.error('Redis not ready after 5 s; answering 503 until it is');
server.listen(config.port, '127.0.0.1', () =>
  console.log(`raw-server listening on 127.0.0.1:${config.port}`),
);
