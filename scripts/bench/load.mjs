/**
 * The benchmark's load generator: autocannon's API, for every scenario of every server, so that
 * all runs are driven alike. run.mjs starts it as its own process, so its CPU is never the server's.
 *
 *   node scripts/bench/load.mjs --url http://127.0.0.1:PORT/orders [--method POST]
 *     [--body JSON] [--header name=value ...] [--take NAME=FILE | --fresh NAME | --cycle NAME=FILE]
 *     [--connections 50] [--duration 10] [--rate REQ_PER_S] [--fine-latency]
 *
 * At most one header may change from request to request:
 *   --take NAME=FILE   the next line of FILE per request (pre-issued tokens); when they run out
 *                      the run stops, and the requests already built carry the value
 *                      `exhausted`, which no server accepts: a 400, never a success, counted
 *   --fresh NAME       a new random UUID per request (keys a client chooses)
 *   --cycle NAME=FILE  the lines of FILE in turn, from the first again after the last (callers)
 *
 * Prints autocannon's result as JSON, plus `perRequest: { header, mode, available, used,
 * exhausted }` and `loaderCpuSeconds`. autocannon's `latency` has whole milliseconds (its
 * histogram keeps integers), too coarse for a difference of a fraction of one: with
 * `--fine-latency` the output also has `fineLatencyMs: { samples, mean, p50, p90, p99, p99_9,
 * max }`, from every 2xx answer's own time (autocannon's, in ms with µs digits), uncorrected
 * for coordinated omission.
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE =
  'usage: load.mjs --url URL [--method M] [--body TEXT] [--header NAME=VALUE ...] ' +
  '[--take NAME=FILE | --fresh NAME | --cycle NAME=FILE] [--connections N] [--duration S] [--rate R] ' +
  '[--fine-latency]';

function fail(message) {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    method: { type: 'string', default: 'GET' },
    body: { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    take: { type: 'string' },
    fresh: { type: 'string' },
    cycle: { type: 'string' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '10' },
    rate: { type: 'string', default: '0' }, // requests/s over all connections; 0: unlimited
    'fine-latency': { type: 'boolean', default: false },
  },
});
if (!values.url) fail('--url is required');
const target = new URL(values.url);
if (target.hostname !== '127.0.0.1')
  fail(`refusing to load ${values.url}: loopback (127.0.0.1) only`);

/** `name=value` → [lower-case name, value]; the value may itself contain `=`. */
function pair(text, option) {
  const at = text.indexOf('=');
  if (at < 1) fail(`${option} takes NAME=VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, at).toLowerCase(), text.slice(at + 1)];
}

function lines(file) {
  const found = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  if (found.length === 0) fail(`${file} has no lines`);
  return found;
}

/** The header set per request, if any: its name and `next()`, undefined once values run out. */
function perRequestSource() {
  const modes = ['take', 'fresh', 'cycle'].filter((mode) => values[mode] !== undefined);
  if (modes.length > 1) fail('at most one of --take, --fresh, --cycle');
  const [mode] = modes;
  if (mode === undefined) return undefined;
  if (mode === 'fresh')
    return { mode, header: values.fresh.toLowerCase(), available: null, next: randomUUID };
  const [header, file] = pair(values[mode], `--${mode}`);
  const all = lines(file);
  let used = 0;
  const next =
    mode === 'take'
      ? () => (used < all.length ? all[used++] : undefined)
      : () => all[used++ % all.length];
  return { mode, header, available: all.length, next };
}

const source = perRequestSource();
const counts = { used: 0, exhausted: 0 };
let instance;

/** Called by autocannon once per request it builds, just before sending it. */
function withNextValue(request) {
  let value = source.next();
  if (value === undefined) {
    counts.exhausted += 1;
    value = 'exhausted';
    instance?.stop(); // undefined while autocannon builds each connection's first request
  } else counts.used += 1;
  return { ...request, headers: { ...request.headers, [source.header]: value } };
}

/** Every 2xx answer's time in ms, for --fine-latency (grows by doubling). */
const fine = { times: new Float64Array(values['fine-latency'] ? 65_536 : 0), count: 0 };

function recordFine(_client, statusCode, _bytes, responseTime) {
  if (statusCode < 200 || statusCode > 299) return;
  if (fine.count === fine.times.length) {
    const grown = new Float64Array(fine.times.length * 2);
    grown.set(fine.times);
    fine.times = grown;
  }
  fine.times[fine.count++] = responseTime;
}

/** Nearest-rank percentiles of the recorded times, in ms rounded to µs. */
function fineLatency() {
  const sorted = fine.times.subarray(0, fine.count).sort();
  const ms = (value) => Math.round(value * 1000) / 1000;
  const at = (p) =>
    ms(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
  if (sorted.length === 0) return { samples: 0 };
  return {
    samples: sorted.length,
    mean: ms(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p99_9: at(99.9),
    max: ms(sorted[sorted.length - 1]),
  };
}

const cpuAtStart = process.cpuUsage();
instance = autocannon(
  {
    url: target.href,
    connections: Number(values.connections),
    duration: Number(values.duration),
    ...(Number(values.rate) > 0 ? { overallRate: Number(values.rate) } : {}),
    requests: [
      {
        method: values.method,
        headers: Object.fromEntries(values.header.map((text) => pair(text, '--header'))),
        ...(values.body === undefined ? {} : { body: values.body }),
        ...(source ? { setupRequest: withNextValue } : {}),
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
        perRequest: source && {
          header: source.header,
          mode: source.mode,
          available: source.available,
          ...counts,
        },
        loaderCpuSeconds: (cpu.user + cpu.system) / 1e6,
        ...(values['fine-latency'] ? { fineLatencyMs: fineLatency() } : {}),
      }),
      () => process.exit(0), // do not wait for autocannon's timers: the result is out
    );
  },
);
if (values['fine-latency']) instance.on('response', recordFine);
// Fewer values than connections: they ran out while autocannon was still connecting.
if (counts.exhausted > 0) instance.stop();
