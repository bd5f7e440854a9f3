/**
 * Child processes of the benchmark: started here, tracked, measured (CPU from /proc), and
 * always stopped, on success, on error and on Ctrl-C.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { HOST } from './settings.mjs';

/** Started children, oldest first; stopped newest first (servers before their Redis). */
const children = [];

const alive = (child) => child.exitCode === null && child.signalCode === null;

/**
 * Spawns a tracked child. `stdio: 'ignore'` sends its output to /dev/null. A `critical` child
 * (Redis, a server) must live until the benchmark stops it: an earlier exit is reported at once
 * and fails the next {@link assertAlive}.
 */
export function startProcess(name, command, args, { critical = false, ...options } = {}) {
  const child = spawn(command, args, { stdio: 'ignore', ...options });
  child.benchName = name;
  child.once('error', (error) =>
    console.error(`[bench] ${name} failed to start: ${error.message}`),
  );
  children.push(child);
  child.once('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (critical && !child.benchStopping)
      console.error(
        `[bench] ${name} (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}`,
      );
  });
  return child;
}

export function assertAlive(child, hint = '') {
  if (!alive(child))
    throw new Error(
      `${child.benchName} (pid ${child.pid}) exited: code ${child.exitCode}, signal ${child.signalCode}${hint}`,
    );
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves once it is gone (bounded). */
export async function stopProcess(child, graceMs = 5_000) {
  if (!alive(child)) return;
  child.benchStopping = true;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), delay(graceMs, false)])) return;
  child.kill('SIGKILL');
  await Promise.race([exited, delay(2_000)]);
}

export async function stopAll() {
  for (const child of [...children].reverse()) await stopProcess(child);
}

/**
 * Stops every child however the run ends. `exit` handlers must be synchronous, so the last
 * resort is SIGKILL; the signal handlers stop gracefully first.
 */
export function installCleanup(onCleanup = async () => {}) {
  let stopping = false;
  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n[bench] interrupted: stopping ${children.length} process(es)`);
    await onCleanup().catch(() => {});
    await stopAll();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(130));
  process.once('SIGTERM', () => void shutdown(143));
  process.once('exit', () => {
    for (const child of children) {
      child.benchStopping = true;
      if (alive(child)) child.kill('SIGKILL');
    }
  });
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it resolves truthy; throws after `timeoutMs`. Errors count as "not yet". */
export async function waitFor(what, check, { timeoutMs = 30_000, intervalMs = 100, child } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (child && !alive(child))
      throw new Error(
        `${what}: ${child.benchName} exited (code ${child.exitCode}, signal ${child.signalCode})`,
      );
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await delay(intervalMs);
  }
  throw new Error(
    `${what}: not ready after ${timeoutMs} ms${lastError ? ` (${lastError.message})` : ''}`,
  );
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the `(comm)` field, which may itself contain spaces. */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system, all threads) a live process has used so far. */
export function cpuSeconds(pid) {
  const fields = statFields(pid); // fields[0] is field 3 (state): utime is field 14, stime 15
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * CPU seconds of this process' children that have exited and been reaped (cutime + cstime).
 * Read before and after a load-generator run, the difference is the load generator's CPU.
 */
export function reapedChildrenCpuSeconds() {
  const fields = statFields('self');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/**
 * Runs a command that prints one JSON document on stdout, killing it after `timeoutMs`.
 * Resolves with the parsed document; rejects on a non-zero exit, a timeout or bad JSON.
 */
export function runJsonProcess(name, command, args, { timeoutMs, cwd }) {
  return new Promise((resolve, reject) => {
    const child = startProcess(name, command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => err.push(chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name}: no answer after ${timeoutMs} ms, killed`));
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code !== 0)
        return reject(
          new Error(
            `${name} exited with ${code ?? signal}${stderr ? `: ${stderr.slice(-2_000)}` : ''}`,
          ),
        );
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')));
      } catch (error) {
        reject(
          new Error(
            `${name}: output is not JSON (${error.message})${stderr ? `; stderr: ${stderr.slice(-2_000)}` : ''}`,
          ),
        );
      }
    });
  });
}
