/**
 * What one hostile body costs the service: for each shape of JSON body just under the 1 MiB
 * limit, the server's CPU time (and the client's wall time) for one POST /orders with a fresh
 * token (a first use: depth check, fingerprint, validation, the 400 recorded) and for one copy
 * of it (the fingerprint again, then the stored answer replayed). Run by hand, after
 * `npm run build`:
 *
 *   node scripts/bench/body-shapes.mjs                 # Fastify, the service's adapter
 *   BENCH_ADAPTER=express node scripts/bench/body-shapes.mjs
 *   BENCH_DIST=/elsewhere/dist node scripts/bench/body-shapes.mjs   # another build
 *   BENCH_CPU_PROF=/tmp/prof node scripts/bench/body-shapes.mjs     # the server under --cpu-prof
 *
 * The server is the built app (`dist/`) made by createApp() as main.ts makes it, in a child
 * process, with its request log (to /dev/null), on a redis-server of its own. A table (Markdown) goes to
 * stdout: a shape whose cost grows with the number of its elements shows up here as seconds.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { baseUrl, closeAgent, issueToken, send } from './lib/http.mjs';
import { installCleanup, stopAll, waitFor } from './lib/processes.mjs';
import { startRedis } from './lib/redis.mjs';
import { BENCH_SECRET, HOST, NEVER_LIMITED, REPO_ROOT } from './lib/settings.mjs';

/** The service's body limit (src/app.setup.ts); every body here stays just under it. */
const LIMIT = 1024 * 1024;
const ROOM = 64; // bytes left for the closing brackets
/** Timing of one request: the best of this many, as a single run on a shared machine is noisy. */
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
if (!Number.isInteger(REPEATS) || REPEATS < 1) throw new Error('BENCH_REPEATS: a whole number ≥ 1');

/**
 * Repeats `unit(i)` (joined by `separator`) between `head` and `tail` until the body is just
 * under the limit. `unit` is called with a running index, so keys can be distinct.
 */
function filled(head, unit, tail, separator = ',') {
  const parts = [];
  let size = head.length + tail.length;
  for (let i = 0; ; i += 1) {
    const part = unit(i);
    if (size + part.length + separator.length > LIMIT - ROOM) break;
    parts.push(part);
    size += part.length + separator.length;
  }
  return { body: head + parts.join(separator) + tail, count: parts.length };
}

/** 64 levels of `{"a":…}` around a leaf, the deepest a body may nest (the contract). */
const deepObject = (leaf) => '{"a":'.repeat(62) + leaf + '}'.repeat(62);

const ORDER = '"item":"book","quantity":1';

/** Every shape is an order with something hostile in it; `count` is what there is many of. */
const SHAPES = {
  'one object, unknown keys': () => filled(`{${ORDER},`, (i) => `"${i.toString(36)}":0`, '}'),
  'one object, unknown keys, 1 KiB values': () =>
    filled(`{${ORDER},`, (i) => `"k${i}":"${'v'.repeat(1000)}"`, '}'),
  'a declared property holding many keys': () =>
    filled('{"quantity":1,"item":{', (i) => `"${i.toString(36)}":0`, '}}'),
  'an unknown property holding many keys': () =>
    filled(`{${ORDER},"x":{`, (i) => `"${i.toString(36)}":0`, '}}'),
  'top-level array of empty objects': () => filled('[', () => '{}', ']'),
  'array of numbers': () => filled(`{${ORDER},"x":[`, () => '1', ']}'),
  'array of empty objects': () => filled(`{${ORDER},"x":[`, () => '{}', ']}'),
  'array of empty arrays': () => filled(`{${ORDER},"x":[`, () => '[]', ']}'),
  'array of objects with a key': () => filled(`{${ORDER},"x":[`, (i) => `{"a":${i % 10}}`, ']}'),
  'objects 64 levels deep': () => filled(`{${ORDER},"x":[`, () => deepObject('0'), ']}'),
  'a long string 64 levels deep, a sibling on each level': () => {
    const open = '{"b":0,"a":'.repeat(62);
    return filled(`{${ORDER},"x":${open}"`, () => 'a', `"${'}'.repeat(62)}}`, '');
  },
  'huge string (item)': () => filled(`{"quantity":1,"item":"`, () => 'a', '"}', ''),
  'huge string (unknown key)': () => filled(`{${ORDER},"x":"`, () => 'a', '"}', ''),
  'unicode escapes (item)': () => filled(`{"quantity":1,"item":"`, () => '\\u00e9', '"}', ''),
  'astral escapes (item)': () => filled(`{"quantity":1,"item":"`, () => '\\ud83d\\ude00', '"}', ''),
  'duplicate keys': () => filled(`{${ORDER},`, () => '"item":"book"', '}'),
  'one long key': () => filled(`{${ORDER},"`, () => 'k', '":0}', ''),
  'constructor/prototype-like keys': () =>
    filled(`{${ORDER},`, (i) => `"constructor${i}":{"prototype${i}":0}`, '}'),
  '__proto__ keys in nested objects': () =>
    filled(`{${ORDER},"x":[`, () => '{"__proto__":{"a":1}}', ']}'),
  'numbers with huge exponents': () => filled(`{${ORDER},"x":[`, () => '1e308', ']}'),
  'numbers with long mantissas': () =>
    filled(`{${ORDER},"x":[`, () => `0.${'1234567890'.repeat(10)}e-300`, ']}'),
};

/** The server: the built app, set up as main.ts does it (run as `body-shapes.mjs --serve`). */
async function serve() {
  const dist = pathToFileURL(`${process.env.BENCH_DIST}/`);
  await import('reflect-metadata');
  const { AppModule } = await import(new URL('app.module.js', dist));
  const { createApp } = await import(new URL('app.setup.js', dist));
  const { loadConfig } = await import(new URL('config/app-config.js', dist));
  const config = loadConfig(process.env);
  const app = await createApp(AppModule.forRoot(config), {
    adapter: process.env.BENCH_ADAPTER,
    logger: ['error', 'warn'],
  });
  await app.listen(0, HOST);
  // The parent asks for this process' CPU time around each request, and says when to stop
  // (exiting normally, so that --cpu-prof writes its profile).
  process.on('disconnect', () => process.exit(0)); // the parent is gone (Ctrl-C)
  process.on('message', async (message) => {
    if (message === 'cpu') process.send({ cpu: process.cpuUsage() });
    if (message === 'stop') {
      await app.close();
      process.exit(0);
    }
  });
  process.send({ port: app.getHttpServer().address().port });
}

async function startServer(redisUrl) {
  const dist = resolve(process.env.BENCH_DIST ?? join(REPO_ROOT, 'dist'));
  const adapter = process.env.BENCH_ADAPTER ?? 'fastify';
  const profile = process.env.BENCH_CPU_PROF;
  const child = fork(new URL(import.meta.url).pathname, ['--serve'], {
    cwd: REPO_ROOT,
    execArgv: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      BENCH_DIST: dist,
      BENCH_ADAPTER: adapter,
      REDIS_URL: redisUrl,
      TOKEN_SECRET: BENCH_SECRET,
      TOKEN_RATE_LIMIT: String(NEVER_LIMITED),
      TOKEN_MAX_OUTSTANDING: String(NEVER_LIMITED),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`the server exited (code ${code}) before it listened`)),
    ),
  );
  exited.catch(() => {}); // once it listens, its exit at the end is expected
  const [{ port }] = await Promise.race([once(child, 'message'), exited]);
  const base = baseUrl(port);
  await waitFor('server', async () => (await send(`${base}/health`)).status === 200, { child });
  return { child, base, adapter, dist };
}

/** The server's CPU time so far (user + system, ms). */
async function serverCpuMs(server) {
  server.child.send('cpu');
  const [{ cpu }] = await once(server.child, 'message');
  return (cpu.user + cpu.system) / 1000;
}

/** One request; the server's CPU time for it and the client's wall time. */
async function measured(server, call) {
  const cpuBefore = await serverCpuMs(server);
  const started = performance.now();
  const answer = await call();
  const wallMs = performance.now() - started;
  return { answer, wallMs, cpuMs: (await serverCpuMs(server)) - cpuBefore };
}

const best = (runs, key) => Math.min(...runs.map((run) => run[key]));

async function measureShape(server, body) {
  const first = [];
  const copy = [];
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    const token = await issueToken(server.base);
    const call = () =>
      send(`${server.base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-token': token },
        body,
        timeoutMs: 120_000,
      });
    first.push(await measured(server, call));
    await new Promise((done) => setTimeout(done, 50)); // the outcome is written after the answer
    copy.push(await measured(server, call));
  }
  return {
    status: `${first[0].answer.status} ${JSON.parse(first[0].answer.body).code ?? ''}`.trim(),
    copy: copy[0].answer.headers['idempotent-replayed']
      ? 'replayed'
      : String(copy[0].answer.status),
    firstWallMs: best(first, 'wallMs'),
    firstCpuMs: best(first, 'cpuMs'),
    copyWallMs: best(copy, 'wallMs'),
    copyCpuMs: best(copy, 'cpuMs'),
  };
}

async function main() {
  installCleanup(async () => closeAgent());
  const redis = await startRedis();
  const server = await startServer(redis.url);
  console.log(
    `Body shapes on ${server.adapter} (${server.dist}), best of ${REPEATS}; the server's CPU time (process.cpuUsage)\n`,
  );
  console.log(
    '| shape | elements | bytes | first use | copy | first: CPU ms | first: wall ms | copy: CPU ms | copy: wall ms |',
  );
  console.log('|---|---:|---:|---|---|---:|---:|---:|---:|');
  for (const [name, make] of Object.entries(SHAPES)) {
    const { body, count } = make();
    const result = await measureShape(server, body);
    const ms = (value) => value.toFixed(0);
    console.log(
      `| ${name} | ${count} | ${Buffer.byteLength(body)} | ${result.status} | ${result.copy} | ${ms(result.firstCpuMs)} | ${ms(result.firstWallMs)} | ${ms(result.copyCpuMs)} | ${ms(result.copyWallMs)} |`,
    );
  }
  server.child.send('stop');
  await once(server.child, 'exit');
  await redis.admin.quit();
  closeAgent();
  await stopAll();
}

if (process.argv.includes('--serve')) await serve();
else await main();
