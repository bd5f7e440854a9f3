/**
 * Processes for test/packages.spec.ts: npm and tsc runs whose failures show their output, and
 * consumer apps started with `node dist/main.js` that are always stopped again by pid.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** Runs a command without a shell; a failure carries its output, so a broken install reads clearly. */
export async function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs = 120_000,
): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr, killed } = error as {
      stdout?: string;
      stderr?: string;
      killed?: boolean;
    };
    const why = killed ? `timed out after ${timeoutMs / 1000} s` : 'failed';
    throw new Error(`${command} ${args.join(' ')} ${why} in ${cwd}:\n${stderr}\n${stdout}`, {
      cause: error,
    });
  }
}

/** An install from the registry may stall on the network: one more try before the test fails. */
export async function npmInstall(dir: string, packages: string[]): Promise<void> {
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packages];
  await run('npm', args, dir).catch(() => run('npm', args, dir));
}

/**
 * Where the named packages are installed in a project, each copy once, relative to it (e.g.
 * `node_modules/@nestjs/core`): `npm ls` walks the whole tree, nested copies included.
 */
export async function installedCopies(dir: string, names: string[]): Promise<string[]> {
  const out = await run('npm', ['ls', ...names, '--all', '--parseable'], dir, 30_000);
  const paths = out.split('\n').filter((line) => line.startsWith(`${dir}/`));
  return [...new Set(paths.map((path) => path.slice(dir.length + 1)))].sort();
}

/** A running consumer app: its process and everything it printed. */
export interface RunningConsumer {
  child: ChildProcess;
  output: () => string;
}

const READY_TIMEOUT_MS = 30_000;
const started = new Set<ChildProcess>();

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/**
 * Starts `node dist/main.js` of a built app; resolves once it printed a `ready` line, rejects with
 * its output if it exits first or stays silent too long (then it is killed).
 */
export function startApp(dir: string, env: Record<string, string>): Promise<RunningConsumer> {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: dir,
    env: { ...process.env, ...env },
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s:\n${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (/^ready$/m.test(output)) {
        clearTimeout(timer);
        resolve({ child, output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code ?? signal}:\n${output}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited after a few seconds. */
async function stop(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Stops every app startApp() started that is still running, including one a failed test left behind. */
export async function stopAllApps(): Promise<void> {
  await Promise.all([...started].map(stop));
}
