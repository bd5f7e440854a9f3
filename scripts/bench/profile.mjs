/**
 * Where a server's CPU goes in one scenario: starts one of the benchmark's servers under
 * `--cpu-prof` (pinned like the benchmark, prepared by the same code as `run.mjs`), loads it
 * once with load.mjs, and prints its busy µs per answer and three tables: self time by package
 * or file, self time by function, and the time under each of our own functions with their
 * callees. Samples of the first `--warmup` seconds of the load are left out.
 *
 *   npm run bench:profile -- [--server service|module|peer|bare|raw]
 *     [--scenario replay|first-use|issue] [--duration 10] [--warmup 3] [--top 40] [--keep DIR]
 *
 * Run by hand (the smoke test runs it for 2 s only); nothing else should run on the machine
 * meanwhile.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeAgent } from './lib/http.mjs';
import * as orchestration from './lib/orchestration.mjs';
import { installCleanup, stopAll, stopProcess } from './lib/processes.mjs';
import { startRedis } from './lib/redis.mjs';
import { oneServerRun } from './lib/servers.mjs';
import { REPO_ROOT } from './lib/settings.mjs';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'service' },
    scenario: { type: 'string', default: 'replay' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    top: { type: 'string', default: '40' },
    keep: { type: 'string' },
  },
});
const { chosen, scenario, options } = oneServerRun(
  values,
  mkdtempSync(join(tmpdir(), 'profile-results-')),
);
const log = (line) => console.error(`[profile] ${line}`);
const profileDir = values.keep ?? mkdtempSync(join(tmpdir(), 'profile-'));
mkdirSync(profileDir, { recursive: true }); // a --keep folder may not exist yet: the scenarios write there first
installCleanup();

chosen.setup?.(log);
const redis = await startRedis();
const pin = orchestration.pinning(options);
const profiled = {
  ...chosen,
  args: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...chosen.args],
};
const [server] = await orchestration.startServers([profiled], redis.url, { options, pin, log });
const ctx = orchestration.scenarioContext({ options, redis, log, dir: profileDir });
const load = await server.scenarios[scenario.id](server, ctx);
log(`loading ${scenario.title} for ${options.durationSeconds} s`);
// V8's profile timestamps and hrtime read the same monotonic clock, in every process.
const loadStart = Number(process.hrtime.bigint() / 1000n);
const run = await orchestration.timedLoad({
  scenario,
  server,
  load,
  options,
  admin: redis.admin,
  redises: {},
});
const loadEnd = Number(process.hrtime.bigint() / 1000n);
await stopProcess(server.child, 15_000);
closeAgent();
redis.admin.disconnect();
await stopAll();
rmSync(options.resultsDir, { recursive: true, force: true });

const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error(`no .cpuprofile in ${profileDir}`);
const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8'));
if (!values.keep) rmSync(profileDir, { recursive: true, force: true });

const answers = run.result['2xx'];
const from = loadStart + Number(values.warmup) * 1e6;
// Answers in the profiled window, assuming a steady rate over the run.
const profiledAnswers = (answers * (loadEnd - from)) / (loadEnd - loadStart);

/** Self time per profile node, from the samples inside the window (a sample lasts until the next). */
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map();
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i];
  if (at < from || at > loadEnd) continue;
  const id = profile.samples[i];
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}

/** A package (`node_modules`), a Node module group, a file of ours, or `(native)`. */
function placeOf({ url }) {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '').replace(REPO_ROOT, '');
  const packageAt = path.lastIndexOf('node_modules/');
  if (packageAt >= 0) {
    const [scope, name] = path.slice(packageAt + 'node_modules/'.length).split('/');
    return scope.startsWith('@') ? `${scope}/${name}` : scope;
  }
  return path.startsWith('node:') ? `node:${path.slice(5).split('/')[0]}` : path;
}
const functionOf = (frame) =>
  `${frame.functionName || '(anonymous)'} ${placeOf(frame)}:${frame.lineNumber + 1}`;
const add = (map, key, micros) => map.set(key, (map.get(key) ?? 0) + micros);

const places = new Map();
const functions = new Map();
let busy = 0;
let idle = 0;
for (const [id, micros] of selfMicros) {
  const { callFrame } = byId.get(id);
  if (callFrame.functionName === '(idle)') {
    idle += micros;
    continue;
  }
  busy += micros;
  add(places, placeOf(callFrame), micros);
  add(functions, functionOf(callFrame), micros);
}

/**
 * Time under each function of ours (dist/, packages' dist/), callees included, each counted
 * once per stack. A hook that calls `done()` includes every hook and handler after it.
 */
const parentOf = new Map();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parentOf.set(child, node.id);
const ours = ({ url }) => url.includes('/dist/') && !url.includes('node_modules');
const inclusive = new Map();
for (const [id, micros] of selfMicros) {
  const seen = new Set();
  for (let node = id; node !== undefined; node = parentOf.get(node)) {
    const { callFrame } = byId.get(node);
    const name = functionOf(callFrame);
    if (!ours(callFrame) || seen.has(name)) continue;
    seen.add(name);
    add(inclusive, name, micros);
  }
}

const top = Number(values.top);
const table = (title, map) =>
  [
    `| share of busy time | µs per answer | ${title} |`,
    '|---:|---:|---|',
    ...[...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, micros]) =>
          `| ${((100 * micros) / busy).toFixed(1)} % | ${(micros / profiledAnswers).toFixed(2)} | ${name} |`,
      ),
    '',
  ].join('\n');
console.log(
  [
    `## ${chosen.process}, ${scenario.title}`,
    '',
    `${answers} answers in ${options.durationSeconds} s, ${Math.round(answers / run.cpu.server)} per server CPU-second ` +
      `(the profiler's cost included). In the window after the ${values.warmup} s warm-up: ` +
      `${(busy / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle, ` +
      `**${(busy / profiledAnswers).toFixed(1)} µs busy per answer**.`,
    '',
    table('self time, by package or file', places),
    table('self time, by function', functions),
    table('our functions, callees included', inclusive),
  ].join('\n'),
);
