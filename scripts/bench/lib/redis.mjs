/**
 * The benchmark's own Redis: a throwaway redis-server on a free loopback port, an admin client
 * for FLUSHALL, INFO and preparing runs, and the numbers read from INFO.
 */
import { Redis } from 'ioredis';
import { HOST } from './settings.mjs';
import { freePort, startProcess, waitFor } from './processes.mjs';

/**
 * No persistence: nothing the benchmark writes survives it, and no fork for RDB during a run.
 * `name` labels the process in progress and errors; `extraArgs` go after the defaults (a
 * replica's `--replicaof HOST PORT`, a primary's `--repl-diskless-sync-delay 0`).
 */
export async function startRedis({ name = 'redis-server', extraArgs = [] } = {}) {
  const port = await freePort();
  const child = startProcess(
    name,
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
      ...extraArgs,
    ],
    { critical: true },
  );
  const url = `redis://${HOST}:${port}/0`;
  // An admin client that waits politely; the servers' clients are the fail-fast ones.
  const admin = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => (attempt > 100 ? null : 100),
  });
  // Refused connects are expected until redis-server listens; real failures reject the commands.
  admin.on('error', () => {});
  await waitFor(
    name,
    async () => {
      if (admin.status === 'wait' || admin.status === 'end') await admin.connect();
      return (await admin.ping()) === 'PONG';
    },
    { timeoutMs: 10_000, child },
  );
  return { child, url, admin };
}

export function parseInfo(text) {
  const fields = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

export async function usedMemory(admin) {
  return Number(parseInfo(await admin.info('memory')).used_memory);
}

/** What the orchestrator itself sends while a run is measured: its own INFO readings. */
const ORCHESTRATOR_COMMANDS = new Set(['info']);
const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/**
 * Calls per command Redis has run so far (INFO commandstats), the orchestrator's own left out.
 * Commands a script runs inside Redis count here too, under their own names.
 */
export async function commandCalls(admin) {
  const calls = {};
  for (const [field, value] of Object.entries(parseInfo(await admin.info('commandstats')))) {
    const name = field.replace(/^cmdstat_/, '');
    const match = /calls=(\d+)/.exec(value);
    if (match && !ORCHESTRATOR_COMMANDS.has(name)) calls[name] = Number(match[1]);
  }
  return calls;
}

/** Calls per command between two readings of commandCalls; commands not called left out. */
export function callsSince(before, after) {
  return Object.fromEntries(
    Object.entries(after)
      .map(([name, calls]) => [name, calls - (before[name] ?? 0)])
      .filter(([, calls]) => calls > 0),
  );
}

/**
 * Round trips to Redis in `calls` (a callsSince result): the script calls (EVAL, EVALSHA, …),
 * where there are any; else every command. Redis counts the commands a script runs inside it
 * like a client's, so beside scripts a plain command cannot be told apart from a script's own.
 * Right for the servers here: the service, raw and the bare app's POST /orders send scripts
 * (the service also reads Redis' TIME once a minute), the peer and the bare app's GET /tokens
 * plain commands only.
 */
export function roundTrips(calls) {
  const entries = Object.entries(calls);
  const scripts = entries.filter(([name]) => SCRIPT_COMMANDS.has(name));
  return (scripts.length > 0 ? scripts : entries).reduce((sum, [, count]) => sum + count, 0);
}

export async function redisVersion(admin) {
  return parseInfo(await admin.info('server')).redis_version;
}

/** Every key of `type` under `pattern`, by SCAN (bounded: at most 100 000 batches). */
export async function scanKeys(admin, pattern, type) {
  const keys = [];
  let cursor = '0';
  for (let batch = 0; batch < 100_000; batch += 1) {
    const [next, found] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000, 'TYPE', type);
    keys.push(...found);
    cursor = next;
    if (cursor === '0') return keys;
  }
  throw new Error(`SCAN ${pattern} did not finish`);
}

export async function deleteKeys(admin, keys) {
  for (let at = 0; at < keys.length; at += 500) await admin.del(...keys.slice(at, at + 500));
}
