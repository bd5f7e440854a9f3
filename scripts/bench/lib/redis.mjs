/**
 * The benchmark's own Redis: a throwaway redis-server on a free loopback port, an admin client
 * for FLUSHALL and INFO, and the numbers read from INFO.
 */
import { Redis } from 'ioredis';
import { HOST } from './settings.mjs';
import { freePort, startProcess, waitFor } from './processes.mjs';

/** No persistence: nothing the benchmark writes survives it, and no fork for RDB during a run. */
export async function startRedis() {
  const port = await freePort();
  const child = startProcess(
    'redis-server',
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
    'redis-server',
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

/**
 * Script calls Redis has run so far (EVALSHA and EVAL, read-only variants too). The store
 * makes one script call per round trip, so calls per request = round trips per request.
 */
export async function scriptCalls(admin) {
  const stats = parseInfo(await admin.info('commandstats'));
  let calls = 0;
  for (const name of ['cmdstat_evalsha', 'cmdstat_eval', 'cmdstat_evalsha_ro', 'cmdstat_eval_ro']) {
    const match = /calls=(\d+)/.exec(stats[name] ?? '');
    if (match) calls += Number(match[1]);
  }
  return calls;
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
