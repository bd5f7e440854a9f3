import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const MAIN = new URL('../dist/main.js', import.meta.url);

/** Runs the built service with exactly this environment and returns how it ended. */
function runService(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [MAIN.pathname], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

/** docs/CONTRACT.md: a bad configuration stops the process within 20 s, naming the variable. */
describe('starting the built service (npm run build first)', () => {
  it('has been built', () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ TOKEN_TTL_SECONDS: '100', TOKEN_MAX_TTL_SECONDS: '10' }, 'TOKEN_TTL_SECONDS'],
    [{ REDIS_URL: 'redis://127.0.0.1:1', REDIS_CLUSTER_NODES: '127.0.0.1:2' }, 'REDIS_URL'],
    [{ TOKEN_SECRET: 'too-short' }, 'TOKEN_SECRET'],
    [{ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1' }, 'TOKEN_SECRET'],
    [{ NODE_ENV: 'production', TOKEN_SECRET: 'x'.repeat(32) }, 'REDIS_URL'],
  ])('exits non-zero for %j, naming %s', async (env, name) => {
    const { code, output, ms } = await runService(env);
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain(`- ${name} `);
    expect(ms).toBeLessThan(20_000);
  });
});
