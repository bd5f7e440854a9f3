/**
 * Consumer processes for the message specs (test/fixtures/*.mjs): a child Node process that
 * takes its settings as JSON in one environment variable and reports what it does as JSON
 * lines on stdout, stopped by pid.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface EventProcess<E> {
  name: string;
  child: ChildProcess;
  /** Every JSON line it printed, in order. */
  events: E[];
  /** Everything it printed, for failure messages. */
  output: () => string;
  exited: () => boolean;
}

const POLL_MS = 50;

/** Starts `script` with `config` as JSON in the variable `variable`. */
export function spawnEventProcess<E>(
  name: string,
  script: string,
  variable: string,
  config: object,
): EventProcess<E> {
  const child = spawn(process.execPath, [script], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, [variable]: JSON.stringify(config) },
    // IPC: the process exits when this test runner goes away.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let text = '';
  let pending = '';
  const events: E[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line) as E);
  });
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return { name, child, events, output: () => text, exited };
}

/** Polls `check` until it gives a truthy value, or fails after `timeoutMs` saying `what()`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** SIGKILLs the process (if it still runs) and waits until it is gone. */
export async function killProcess<E>(process_: EventProcess<E>): Promise<void> {
  if (!process_.exited()) process.kill(process_.child.pid!, 'SIGKILL');
  await waitFor(process_.exited, 5_000, () => `${process_.name} (pid ${process_.child.pid}) exits`);
}
