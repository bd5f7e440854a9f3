/**
 * Load generator for first-use POST /orders: autocannon's CLI cannot give each request its own
 * token, so this drives autocannon's API and takes the next pre-issued token for every request.
 * run.mjs starts it as its own process, so its CPU is never the server's.
 *
 *   node scripts/bench/load.mjs --url http://127.0.0.1:PORT/orders --tokens FILE \
 *     --connections 50 --duration 10 --body '{"item":"book","quantity":2}' [--rate REQ_PER_S]
 *
 * Prints autocannon's result as JSON, plus `tokens: { available, taken, exhausted }`.
 * When the tokens run out the run is stopped, and every request after that carries a token no
 * server accepts: it is a 400 in `non2xx`, never a success, and `exhausted` says how many.
 */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    tokens: { type: 'string' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    body: { type: 'string', default: '{"item":"book","quantity":2}' },
    rate: { type: 'string', default: '0' }, // requests/s over all connections; 0: unlimited
  },
});
if (!values.url || !values.tokens) {
  console.error(
    'usage: load.mjs --url URL --tokens FILE [--connections N] [--duration S] [--body JSON]',
  );
  process.exit(2);
}
const target = new URL(values.url);
if (target.hostname !== '127.0.0.1') {
  console.error(`refusing to load ${values.url}: loopback (127.0.0.1) only`);
  process.exit(2);
}

const tokens = readFileSync(values.tokens, 'utf8').split('\n').filter(Boolean);
let taken = 0;
let exhausted = 0;
let instance;

/** Called by autocannon once per request it builds, just before sending it. */
function withNextToken(request) {
  let token;
  if (taken < tokens.length) {
    token = tokens[taken];
    taken += 1;
  } else {
    exhausted += 1;
    token = 'exhausted'; // fails the codec's shape check: TOKEN_INVALID, no Redis call
    instance?.stop(); // undefined while autocannon builds each connection's first request
  }
  return { ...request, headers: { ...request.headers, 'idempotency-token': token } };
}

const cpuAtStart = process.cpuUsage();
instance = autocannon(
  {
    url: `${target.origin}${target.pathname}`,
    connections: Number(values.connections),
    duration: Number(values.duration),
    ...(Number(values.rate) > 0 ? { overallRate: Number(values.rate) } : {}),
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: values.body,
        setupRequest: withNextToken,
      },
    ],
  },
  (error, result) => {
    if (error) {
      console.error(error.stack ?? String(error));
      process.exit(1);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    process.stdout.write(
      JSON.stringify({
        ...result,
        tokens: { available: tokens.length, taken, exhausted },
        loaderCpuSeconds: (cpu.user + cpu.system) / 1e6,
      }),
      () => process.exit(0), // do not wait for autocannon's timers: the result is out
    );
  },
);
// Fewer tokens than connections: they ran out while autocannon was still connecting.
if (exhausted > 0) instance.stop();
