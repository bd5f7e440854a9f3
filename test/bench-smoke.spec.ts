import { afterAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run bench` end to end, as short as it goes: every server, every scenario, one round of
 * one second each, no memory part. It proves the scripts work and the report is whole; the
 * numbers of a one-second run are noise, so no figure and no target verdict is asserted.
 */
const RUN = new URL('../scripts/bench/run.mjs', import.meta.url).pathname;
const PROFILE = new URL('../scripts/bench/profile.mjs', import.meta.url).pathname;
const AB = new URL('../scripts/bench/ab.mjs', import.meta.url).pathname;
const REPO_ROOT = new URL('..', import.meta.url).pathname;
/** 40-55 s here; a first run also installs the peer (npm ci, about 10 s more). */
const TIMEOUT_MS = 120_000;

/** Which server has which scenario (a server without one shows `—` in the report). */
const EXPECTED: Record<string, string[]> = {
  'GET /tokens?scope=orders.create': ['service', 'module', 'bare', 'raw'],
  'GET /tokens, 1 000 API-key callers, default limits': ['service', 'bare'],
  'POST /orders, first use': ['service', 'module', 'peer', 'bare', 'raw'],
  'POST /orders, replay of a used key': ['service', 'module', 'peer', 'bare', 'raw'],
};
const SERVERS = ['service', 'module', 'peer', 'bare', 'raw'];

const cells = (line: string) =>
  line
    .split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());

describe('npm run bench (smoke)', () => {
  const results = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill('SIGINT'); // the scripts stop their servers and Redis on SIGINT
    rmSync(results, { recursive: true, force: true });
  });

  /** Runs a bench script to its end; resolves with its stdout, rejects with its stderr. */
  async function run(script: string, args: string[], env: Record<string, string>) {
    child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child!.on('exit', resolve));
    if (code !== 0) throw new Error(`${script} exited with ${code}:\n${stderr}`);
    return stdout;
  }

  it(
    'compares the five servers on every scenario and checks every target',
    async () => {
      const stdout = await run(RUN, [], {
        BENCH_DURATION: '1',
        BENCH_ROUNDS: '1',
        BENCH_MEMORY: '0',
        BENCH_CONNECTIONS: '10',
        // Pinning is for measuring: a one-second run on a core something else holds could
        // answer nothing, and this test proves the scripts work, not the numbers.
        BENCH_PIN: '0',
        BENCH_RESULTS_DIR: results,
        BENCH_SERVERS: '',
        BENCH_SCENARIOS: '',
      });

      try {
        checkReport(stdout);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n\nThe report:\n${stdout}`, { cause: error });
      }
    },
    TIMEOUT_MS,
  );

  it(
    "profiles the service's replays down to its own functions",
    async () => {
      const args = ['--scenario', 'replay', '--duration', '2', '--warmup', '0', '--top', '200'];
      const stdout = await run(PROFILE, args, { BENCH_CONNECTIONS: '10', BENCH_PIN: '0' });

      expect(stdout).toMatch(/\*\*\d+\.\d µs busy per answer\*\*/);
      // A replay consumes through the store: its frames are found and named by file and line.
      expect(stdout).toMatch(
        /\| \d+\.\d+ \| consume packages\/nestjs\/dist\/stores\/redis-token\.store\.js:\d+ \|/,
      );
    },
    TIMEOUT_MS,
  );

  it(
    'compares two checkouts loaded at once (here the same one twice)',
    async () => {
      const args = ['--against', REPO_ROOT, '--scenario', 'replay', '--duration', '1'];
      const stdout = await run(AB, [...args, '--starts', '1', '--rounds', '1'], {
        BENCH_CONNECTIONS: '10',
        BENCH_PIN: '0',
      });

      // The start has its warm-up and its round, with both figures; the median is of the rounds.
      const rows = stdout.split('\n').filter((line) => /^\| \d \| /.test(line));
      expect(rows.map((row) => cells(row).slice(0, 2))).toEqual([
        ['1', 'warm-up'],
        ['1', '1'],
      ]);
      for (const row of rows)
        expect(cells(row).slice(2)).toEqual([
          expect.stringMatching(/^\d+\.\d$/),
          expect.stringMatching(/^\d+\.\d$/),
          expect.stringMatching(/^\d\.\d{3}$/),
        ]);
      expect(stdout).toMatch(/this \/ against = \*\*\d\.\d{3}\*\* \(median of 1 rounds;/);
    },
    TIMEOUT_MS,
  );
});

/** Every scenario's row has a figure for each server that runs it; every target has a verdict. */
function checkReport(stdout: string) {
  const lines = stdout.split('\n');
  const header = cells(lines.find((line) => line.startsWith('| scenario | req per CPU-s'))!);
  for (const [title, servers] of Object.entries(EXPECTED)) {
    // The first row of a scenario is the main table's; the CPU table repeats the title.
    const row = cells(lines.find((line) => line.startsWith(`| ${title} |`))!);
    for (const server of SERVERS) {
      const figure = row[header.indexOf(`req per CPU-s ${server}`)];
      if (servers.includes(server)) expect(figure).toMatch(/^\d{1,3}(,\d{3})*$/);
      else expect(figure).toBe('—');
    }
  }
  const targets = lines.slice(lines.indexOf('### Targets') + 2);
  const checks = targets.slice(0, targets.indexOf(''));
  expect(checks.length).toBeGreaterThanOrEqual(14);
  for (const check of checks) expect(check).toMatch(/^- .*: (met|MISSED|n\/a)$/);
  expect(stdout).not.toContain('### Runs that do not count');
}
