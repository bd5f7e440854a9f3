/**
 * The orchestrator's own HTTP calls (not the measured load): readiness, the preflight that
 * proves both servers answer alike, pre-issuing tokens, preparing a used token.
 */
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { HOST, ORDER_BODY, SCOPE } from './settings.mjs';

/** Keep-alive, so pre-issuing tokens costs the servers what autocannon's connections cost them. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export const baseUrl = (port) => `http://${HOST}:${port}`;

/** One request; resolves with status, headers and the body as text. Never hangs: `timeoutMs`. */
export function send(url, { method = 'GET', headers = {}, body, timeoutMs = 5_000 } = {}) {
  if (new URL(url).hostname !== HOST) throw new Error(`refusing to send to ${url}: loopback only`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('timeout', () =>
      req.destroy(new Error(`${method} ${url}: no answer after ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const postOrder = (base, token, body = ORDER_BODY) =>
  send(`${base}/orders`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { 'idempotency-token': token }),
    },
    body,
  });

export async function issueToken(base) {
  const answer = await send(`${base}/tokens?scope=${SCOPE}`);
  if (answer.status !== 200)
    throw new Error(`GET /tokens answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body).token;
}

/**
 * Issues `count` tokens with `concurrency` requests in flight. Bounded by the count and by
 * `timeoutMs`; any refusal is an error, since a short supply would skew the timed run.
 */
export async function issueTokens(base, count, { concurrency = 50, timeoutMs }) {
  const deadline = Date.now() + timeoutMs;
  const tokens = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      if (Date.now() > deadline)
        throw new Error(`issued only ${tokens.length} of ${count} tokens in ${timeoutMs} ms`);
      started += 1;
      tokens.push(await issueToken(base));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return tokens;
}

/**
 * A token whose first request has finished and whose answer is recorded: every later request
 * with it is a replay. The outcome write is not awaited by the servers, hence the short poll.
 */
export async function usedToken(base) {
  const token = await issueToken(base);
  const first = await postOrder(base, token);
  if (first.status !== 201)
    throw new Error(`first POST /orders answered ${first.status}: ${first.body.slice(0, 300)}`);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const copy = await postOrder(base, token);
    if (copy.status === 201 && copy.headers['idempotent-replayed'] === 'true') return token;
    if (copy.status !== 409)
      throw new Error(`replay answered ${copy.status}: ${copy.body.slice(0, 300)}`);
    await delay(20); // 409 REQUEST_IN_PROGRESS: the outcome is still being written
  }
  throw new Error('the first answer was not recorded within 1 s');
}

/**
 * Checks that a server answers the benchmarked paths as the service's contract says, so the
 * raw baseline cannot be faster by doing less. Throws on the first difference.
 */
export async function preflight(base) {
  const expect = (condition, message, answer) => {
    if (!condition)
      throw new Error(
        `${message} (got ${answer.status} ${JSON.stringify(answer.headers)} ${answer.body.slice(0, 300)})`,
      );
  };
  const issued = await send(`${base}/tokens?scope=${SCOPE}`);
  expect(issued.status === 200, 'GET /tokens must answer 200', issued);
  const body = JSON.parse(issued.body);
  expect(
    typeof body.token === 'string' &&
      body.token.length === 58 &&
      body.scope === SCOPE &&
      body.expiresIn === 900,
    'token body',
    issued,
  );
  expect(issued.headers['cache-control'] === 'no-store', 'Cache-Control: no-store', issued);
  expect(
    /^"tokens";q=\d+;w=60$/.test(issued.headers['ratelimit-policy'] ?? ''),
    'RateLimit-Policy',
    issued,
  );
  expect(/^"tokens";r=\d+;t=\d+$/.test(issued.headers.ratelimit ?? ''), 'RateLimit', issued);

  const first = await postOrder(base, body.token);
  expect(
    first.status === 201 && first.headers['idempotency-token-consumed'] === 'true',
    'first use: 201 + Idempotency-Token-Consumed',
    first,
  );
  expect(first.headers['idempotent-replayed'] === undefined, 'first use is not a replay', first);
  const order = JSON.parse(first.body);
  expect(
    first.headers.location === `/orders/${order.id}` &&
      order.item === 'book' &&
      order.quantity === 2,
    'order and Location',
    first,
  );

  let replay;
  for (let attempt = 0; attempt < 50; attempt += 1) {
    replay = await postOrder(base, body.token);
    if (replay.status !== 409) break;
    await delay(20);
  }
  expect(
    replay.status === 201 &&
      replay.headers['idempotent-replayed'] === 'true' &&
      replay.body === first.body,
    'replay: same answer',
    replay,
  );
  expect(replay.headers.location === first.headers.location, 'replay keeps Location', replay);

  const other = await postOrder(base, body.token, '{"item":"pen","quantity":1}');
  expect(other.status === 422, 'another body with a used token: 422', other);
  const missing = await postOrder(base, undefined);
  expect(
    missing.status === 400 && JSON.parse(missing.body).code === 'TOKEN_MISSING',
    'no token: 400 TOKEN_MISSING',
    missing,
  );
  const forged = await postOrder(
    base,
    `${body.token.slice(0, -1)}${body.token.endsWith('A') ? 'B' : 'A'}`,
  );
  expect(
    forged.status === 400 && JSON.parse(forged.body).code === 'TOKEN_INVALID',
    'forged token: 400 TOKEN_INVALID',
    forged,
  );
  const invalid = await postOrder(base, await issueToken(base), '{"item":"book","quantity":0}');
  expect(
    invalid.status === 400 && JSON.parse(invalid.body).code === 'VALIDATION_FAILED',
    'quantity 0: 400 VALIDATION_FAILED',
    invalid,
  );
  return {
    issueHeaders: Object.keys(issued.headers).sort(),
    orderHeaders: Object.keys(first.headers).sort(),
  };
}

export function closeAgent() {
  agent.destroy();
}
