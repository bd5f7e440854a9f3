/**
 * The orchestrator's own HTTP calls (not the measured load): readiness, the preflights that
 * prove the servers answer as they should, pre-issuing tokens, preparing a used token or key.
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

export const TOKEN_HEADER = 'idempotency-token';

/** POST /orders with `headers` (the token or key) and a JSON body. */
export const postOrder = (base, headers = {}, body = ORDER_BODY) =>
  send(`${base}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

export async function issueToken(base, headers = {}) {
  const answer = await send(`${base}/tokens?scope=${SCOPE}`, { headers });
  if (answer.status !== 200)
    throw new Error(`GET /tokens answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body).token;
}

/**
 * Issues `count` tokens with `concurrency` requests in flight, the i-th with `headersOf(i)`.
 * Bounded by the count and by `timeoutMs`; any refusal is an error, since a short supply
 * would skew the timed run.
 */
export async function issueTokens(
  base,
  count,
  { concurrency = 50, timeoutMs, headersOf = () => ({}) },
) {
  const deadline = Date.now() + timeoutMs;
  const tokens = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      if (Date.now() > deadline)
        throw new Error(`issued only ${tokens.length} of ${count} tokens in ${timeoutMs} ms`);
      started += 1;
      tokens.push(await issueToken(base, headersOf(started - 1)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return tokens;
}

/** Throws, quoting the answer, unless `condition` holds. */
export function expectAnswer(condition, message, answer) {
  if (!condition)
    throw new Error(
      `${message} (got ${answer.status} ${JSON.stringify(answer.headers)} ${answer.body.slice(0, 300)})`,
    );
}

/**
 * Sends copies of a used request until one is answered from the server's store: 201, the first
 * answer's body, `Idempotent-Replayed: true`. A 409 (the first still counts as in progress: its
 * answer is being written) is retried for up to a second; any other answer is an error.
 */
async function waitForReplay(base, headers, first) {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const copy = await postOrder(base, headers);
    if (copy.status !== 409) {
      expectAnswer(
        copy.status === 201 &&
          copy.headers['idempotent-replayed'] === 'true' &&
          copy.body === first.body,
        'replay: 201, Idempotent-Replayed and the first answer',
        copy,
      );
      return copy;
    }
    await delay(20);
  }
  throw new Error('the first answer was not recorded within 1 s');
}

/**
 * Makes `headers` (a token or key) used: one first POST /orders (201), then, once copies are
 * answered from the store, every later request with them is a replay. `storeAnswer(headers,
 * body)` writes the answer for a server that does not (the bare app). Resolves with the first
 * answer and the first replay.
 */
export async function useOnce(base, headers, storeAnswer) {
  const first = await postOrder(base, headers);
  expectAnswer(first.status === 201, 'first POST /orders: 201', first);
  await storeAnswer?.(headers, first.body);
  return { first, replay: await waitForReplay(base, headers, first) };
}

/** A first use's answer: the order of ORDER_BODY, 201, with its Location. */
function expectOrder(first) {
  const order = JSON.parse(first.body);
  expectAnswer(
    first.status === 201 &&
      first.headers.location === `/orders/${order.id}` &&
      order.item === 'book' &&
      order.quantity === 2,
    'first use: 201, the order and its Location',
    first,
  );
}

/**
 * Checks that a server answers the benchmarked paths as the service's contract says, so the
 * raw baseline cannot be faster by doing less. Throws on the first difference.
 */
export async function contractPreflight(base) {
  const issued = await send(`${base}/tokens?scope=${SCOPE}`);
  expectAnswer(issued.status === 200, 'GET /tokens must answer 200', issued);
  const body = JSON.parse(issued.body);
  expectAnswer(
    typeof body.token === 'string' &&
      body.token.length === 58 &&
      body.scope === SCOPE &&
      body.expiresIn === 900,
    'token body',
    issued,
  );
  expectAnswer(issued.headers['cache-control'] === 'no-store', 'Cache-Control: no-store', issued);
  expectAnswer(
    /^"tokens";q=\d+;w=60$/.test(issued.headers['ratelimit-policy'] ?? ''),
    'RateLimit-Policy',
    issued,
  );
  expectAnswer(/^"tokens";r=\d+;t=\d+$/.test(issued.headers.ratelimit ?? ''), 'RateLimit', issued);

  const token = { [TOKEN_HEADER]: body.token };
  const { first, replay } = await useOnce(base, token);
  expectOrder(first);
  expectAnswer(
    first.headers['idempotency-token-consumed'] === 'true',
    'first use: Idempotency-Token-Consumed',
    first,
  );
  expectAnswer(
    first.headers['idempotent-replayed'] === undefined,
    'first use is not a replay',
    first,
  );
  expectAnswer(replay.headers.location === first.headers.location, 'replay keeps Location', replay);

  const other = await postOrder(base, token, '{"item":"pen","quantity":1}');
  expectAnswer(other.status === 422, 'another body with a used token: 422', other);
  const missing = await postOrder(base);
  expectAnswer(
    missing.status === 400 && JSON.parse(missing.body).code === 'TOKEN_MISSING',
    'no token: 400 TOKEN_MISSING',
    missing,
  );
  const forged = await postOrder(base, {
    [TOKEN_HEADER]: `${body.token.slice(0, -1)}${body.token.endsWith('A') ? 'B' : 'A'}`,
  });
  expectAnswer(
    forged.status === 400 && JSON.parse(forged.body).code === 'TOKEN_INVALID',
    'forged token: 400 TOKEN_INVALID',
    forged,
  );
  const invalid = await postOrder(
    base,
    { [TOKEN_HEADER]: await issueToken(base) },
    '{"item":"book","quantity":0}',
  );
  expectAnswer(
    invalid.status === 400 && JSON.parse(invalid.body).code === 'VALIDATION_FAILED',
    'quantity 0: 400 VALIDATION_FAILED',
    invalid,
  );
  return {
    issueHeaders: Object.keys(issued.headers).sort(),
    orderHeaders: Object.keys(first.headers).sort(),
  };
}

/**
 * The checks that hold for a server outside the contract (the peer, the bare app): a first use
 * places the order, copies get its answer from the store, an invalid body is 400.
 * `newHeaders(base)` makes the headers of a new request (a fresh token or key); `storeAnswer`
 * as for useOnce.
 */
export async function orderPreflight(base, newHeaders, storeAnswer) {
  const { first } = await useOnce(base, await newHeaders(base), storeAnswer);
  expectOrder(first);
  const invalid = await postOrder(base, await newHeaders(base), '{"item":"book","quantity":0}');
  expectAnswer(invalid.status === 400, 'quantity 0: 400', invalid);
  return { orderHeaders: Object.keys(first.headers).sort() };
}

export function closeAgent() {
  agent.destroy();
}
