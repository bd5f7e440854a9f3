/**
 * One change, measured: the same server from this checkout and from another (`--against`, e.g.
 * a `git worktree` of the commit before, built), loaded at the same time on the same pinned core
 * and the same Redis. On this VM the host's other tenants move every figure by ±20-50 % from
 * minute to minute; two builds measured in turns differ by that much whatever changed, two
 * measured at once share the same minute. Each round prints the server CPU µs per answer of
 * both and their ratio; the median ratio is the result (below 1: this checkout is cheaper).
 *
 *   npm run bench:ab -- --against DIR [--server module|service|raw|bare]
 *     [--scenario replay|first-use|issue] [--duration 5] [--rounds 4] [--starts 2]
 *
 * Both servers share one core, so each answers about half as many requests as alone: compare
 * the ratio, not the figures with a run of run.mjs. Run by hand, on an otherwise idle machine.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { closeAgent } from './lib/http.mjs';
import * as orchestration from './lib/orchestration.mjs';
import { installCleanup, stopAll, stopProcess } from './lib/processes.mjs';
import { startRedis } from './lib/redis.mjs';
import { median } from './lib/report.mjs';
import { learnRate, oneServerRun } from './lib/servers.mjs';

const { values } = parseArgs({
  options: {
    against: { type: 'string' },
    server: { type: 'string', default: 'module' },
    scenario: { type: 'string', default: 'replay' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '4' },
    starts: { type: 'string', default: '2' },
  },
});
const against = values.against && resolve(values.against);
if (!against || !existsSync(join(against, 'package.json')))
  throw new Error('--against: the folder of another built checkout of this repository');
const log = (line) => console.error(`[ab] ${line}`);
const dir = mkdtempSync(join(tmpdir(), 'bench-ab-'));
const { chosen, scenario, options } = oneServerRun(values, join(dir, 'results'));
installCleanup(async () => rmSync(dir, { recursive: true, force: true }));

// The entry file is named by its absolute path: Node resolves its imports from there, so the
// other checkout's server runs on that checkout's node_modules and builds.
const builds = [
  { ...chosen, process: 'this' },
  { ...chosen, process: 'against', args: chosen.args.map((arg) => join(against, arg)) },
];
chosen.setup?.(log);
const redis = await startRedis();
const pin = orchestration.pinning(options);
const ctx = orchestration.scenarioContext({ options, redis, log, dir });

/** Server CPU µs per answer of one run, or `undefined` when the run does not count. */
const microsPerAnswer = ({ outcome, cpu }) =>
  outcome.valid ? (cpu.server * 1e6) / outcome.requestsAnswered : undefined;
const cell = (value, digits = 1) => value?.toFixed(digits) ?? 'invalid';

/** Both servers loaded at once with the scenario; each one's µs per answer. */
async function round(servers, number) {
  const loads = [];
  for (const server of servers) loads.push(await server.scenarios[scenario.id](server, ctx));
  const runs = await Promise.all(
    servers.map((server, i) =>
      orchestration.timedLoad({
        scenario,
        server,
        load: loads[i],
        options,
        admin: redis.admin,
        redises: {},
      }),
    ),
  );
  for (const [i, { result, outcome }] of runs.entries()) {
    const { process: name } = servers[i];
    // First uses size their pre-issued tokens by the rate learnt (lib/servers.mjs); not by
    // a warm-up's, which is far below the rounds' after it.
    if (number > 0 || !outcome.valid)
      learnRate(ctx, {
        process: name,
        scenario: scenario.id,
        valid: outcome.valid,
        perRequest: result.perRequest,
        requestsPerSecond: outcome.requestsAnswered / outcome.durationSeconds,
      });
    if (!outcome.valid) log(`round ${number}, ${name}: ${outcome.problems.join('; ')}`);
  }
  return runs.map(microsPerAnswer);
}

const ratios = [];
console.log(`| start | round | µs per answer, this | µs per answer, ${against} | this / against |`);
console.log('|---:|---:|---:|---:|---:|');
// Both are started afresh a few times: a Node process keeps some costs for its lifetime (how
// its young generation settles, for one), which differ between two starts of one build.
for (let start = 1; start <= Number(values.starts); start++) {
  const servers = await orchestration.startServers(builds, redis.url, { options, pin, log });
  // Round 0 warms both up (the JIT, Redis' script cache) and does not count.
  for (let number = 0; number <= Number(values.rounds); number++) {
    const [mine, theirs] = await round(servers, number);
    const ratio = mine && theirs ? mine / theirs : undefined;
    if (ratio && number > 0) ratios.push(ratio);
    const name = number || 'warm-up';
    console.log(`| ${start} | ${name} | ${cell(mine)} | ${cell(theirs)} | ${cell(ratio, 3)} |`);
  }
  await Promise.all(servers.map((server) => stopProcess(server.child)));
}
console.log(
  `\n${chosen.process}, ${scenario.title}: this / against = **${median(ratios)?.toFixed(3) ?? 'n/a'}** ` +
    `(median of ${ratios.length} rounds; below 1: this checkout uses less CPU per answer)`,
);

closeAgent();
redis.admin.disconnect();
await stopAll();
rmSync(dir, { recursive: true, force: true });
