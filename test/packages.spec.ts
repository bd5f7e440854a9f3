import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  installedCopies,
  npmInstall,
  run,
  type RunningConsumer,
  startApp,
  stopAllApps,
} from './support/consumers.js';
import { getFreePort, type RedisServerHandle, startRedis } from './support/redis-harness.js';

const ROOT = new URL('../', import.meta.url).pathname;
const CONSUMERS = join(ROOT, 'test/consumers');
const SECRET = 'consumer-secret-consumer-secret-0123456789';
const NEST_APPS = ['nest-cjs-express', 'nest-esm-fastify'] as const;

/**
 * The packages as a user gets them: packed with `npm pack`, installed from the tarballs into
 * projects of their own outside this repository (test/consumers/), built with their own `tsc`
 * and run against a real Redis.
 */
describe('the packed packages in consumer apps', () => {
  const work = mkdtempSync(join(tmpdir(), 'idempotency-consumers-'));
  const tarballs: Record<'nestjs' | 'client', string> = { nestjs: '', client: '' };
  const apps = new Map<
    string,
    { dir: string; url: string; running?: RunningConsumer; env?: Record<string, string> }
  >();
  let redis: RedisServerHandle;

  beforeAll(async () => {
    const packed = JSON.parse(
      await run(
        'npm',
        [
          'pack',
          '--json',
          '--workspace',
          'packages/nestjs',
          '--workspace',
          'packages/client',
          '--pack-destination',
          work,
        ],
        ROOT,
      ),
    ) as { name: string; filename: string }[];
    for (const { name, filename } of packed)
      tarballs[name === '@idempotency-tokens/nestjs' ? 'nestjs' : 'client'] = join(work, filename);

    const install = async (name: string, packages: string[]) => {
      const dir = join(work, name);
      cpSync(join(CONSUMERS, name), dir, { recursive: true });
      if (name.startsWith('nest-')) {
        cpSync(join(CONSUMERS, 'nest-app'), join(dir, 'src'), { recursive: true });
        cpSync(join(dir, 'main.ts'), join(dir, 'src/main.ts'));
        rmSync(join(dir, 'main.ts'));
      }
      await npmInstall(dir, packages);
      if (name.startsWith('nest-')) await run('npx', ['tsc', '-p', '.'], dir);
      return dir;
    };
    const dirs = await Promise.all([
      ...NEST_APPS.map((name) => install(name, [tarballs.nestjs])),
      install('client-esm', [tarballs.client]),
      install('client-cjs', [tarballs.client]),
    ]);

    redis = await startRedis();
    for (const [i, name] of NEST_APPS.entries()) {
      const port = await getFreePort();
      const env = { PORT: String(port), REDIS_URL: redis.url, TOKEN_SECRET: SECRET };
      apps.set(name, {
        dir: dirs[i],
        url: `http://127.0.0.1:${port}`,
        env,
        running: await startApp(dirs[i], env),
      });
    }
    apps.set('client-esm', { dir: dirs[2], url: '' });
    apps.set('client-cjs', { dir: dirs[3], url: '' });
  }, 300_000);

  afterAll(async () => {
    await stopAllApps();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  it('packs the module alone: its build, README, CHANGELOG and license, no tests, no service code', async () => {
    const files = (await run('tar', ['tzf', tarballs.nestjs], work)).trim().split('\n');
    expect(files.filter((file) => !file.startsWith('package/dist/')).sort()).toEqual([
      'package/CHANGELOG.md',
      'package/LICENSE',
      'package/README.md',
      'package/package.json',
    ]);
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files).toContain('package/dist/testing/index.js');
    expect(
      files.filter((file) => /\.spec\.|\.lua$|main\.js|app\.module|orders|\/test\//.test(file)),
    ).toEqual([]);
  });

  it.each(NEST_APPS)(
    "%s has one Nest (its own version) and none of the service's dependencies",
    async (name) => {
      const { dir } = apps.get(name)!;
      expect(await installedCopies(dir, ['@nestjs/core', '@nestjs/common'])).toEqual([
        'node_modules/@nestjs/common',
        'node_modules/@nestjs/core',
      ]);
      const pinned = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      };
      for (const nest of ['@nestjs/core', '@nestjs/common']) {
        const installed = JSON.parse(
          readFileSync(join(dir, 'node_modules', nest, 'package.json'), 'utf8'),
        ) as { version: string };
        expect(installed.version).toBe(pinned.dependencies[nest]);
      }
      // Fastify brings pino itself; on Express nothing of the service's stack may arrive.
      const unwanted = ['zod', '@nestjs/terminus', '@nestjs/swagger', 'prom-client'];
      if (name === 'nest-cjs-express') unwanted.push('fastify', 'pino');
      expect(await installedCopies(dir, unwanted)).toEqual([]);
    },
  );

  describe.each(NEST_APPS)('%s', (name) => {
    const url = () => apps.get(name)!.url;
    const token = async (user: string) => {
      const response = await fetch(`${url()}/tokens?scope=orders.create`, {
        headers: { authorization: `Bearer ${user}` },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { token: string }).token;
    };
    const order = (user: string, tokenValue: string, item = 'book') =>
      fetch(`${url()}/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${user}`,
          'content-type': 'application/json',
          'idempotency-token': tokenValue,
        },
        body: JSON.stringify({ item }),
      });

    it('runs the flow: token, first use, replay, PAYLOAD_MISMATCH, another caller refused', async () => {
      const aliceToken = await token('alice');
      const first = await order('alice', aliceToken);
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotency-token-consumed')).toBe('true');
      const firstBody = await first.json();

      await new Promise((resolve) => setTimeout(resolve, 100)); // the outcome write is not awaited
      const replay = await order('alice', aliceToken);
      expect(replay.status).toBe(201);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(await replay.json()).toEqual(firstBody);

      const mismatch = await order('alice', aliceToken, 'pen');
      expect(mismatch.status).toBe(422);
      expect(mismatch.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await mismatch.json()).toMatchObject({ code: 'PAYLOAD_MISMATCH' });

      const bobsTry = await order('bob', await token('alice'));
      expect(bobsTry.status).toBe(400);
      expect(await bobsTry.json()).toMatchObject({ code: 'TOKEN_UNKNOWN' });
    });
    it("leaves errors to the app's own filter, and replays exactly what it rendered", async () => {
      const tokenValue = await token('alice');
      const decline = () =>
        fetch(`${url()}/orders/declined`, {
          method: 'POST',
          headers: { authorization: 'Bearer alice', 'idempotency-token': tokenValue },
        });
      const first = await decline();
      const firstText = await first.text();
      expect(first.status).toBe(402);
      expect(JSON.parse(firstText)).toMatchObject({
        error: { status: 402, message: expect.stringMatching(/^payment declined/) },
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const copy = await decline();
      expect(copy.status).toBe(402);
      expect(copy.headers.get('idempotent-replayed')).toBe('true');
      expect(await copy.text()).toBe(firstText);
    });

    it('leaves a GET of an @Idempotent() controller alone', async () => {
      const response = await fetch(`${url()}/orders/7`, {
        headers: { authorization: 'Bearer alice' },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id: '7' });
    });

    it('refuses to start with @Idempotent() on a resolver, naming it', async () => {
      const { dir, env } = apps.get(name)!;
      const started = startApp(dir, {
        ...env!,
        PORT: String(await getFreePort()),
        WITH_RESOLVER: '1',
      });
      await expect(started).rejects.toThrow(
        /start refused: @Idempotent\(\) cannot be served where it is: OrdersResolver\.createOrder is on a provider/,
      );
    });
  });

  it.each(['client-esm/place-order.mjs', 'client-cjs/place-order.cjs'])(
    'places an order with the packed client from %s',
    async (script) => {
      const [project, file] = script.split('/');
      const out = await promisify(execFile)(process.execPath, [file], {
        cwd: apps.get(project)!.dir,
        env: { ...process.env, BASE_URL: apps.get('nest-cjs-express')!.url },
      });
      const answer = JSON.parse(out.stdout) as { status: number; body: { item: string } };
      expect(answer).toMatchObject({
        status: 201,
        body: { item: project === 'client-esm' ? 'from esm' : 'from cjs' },
      });
    },
  );

  it("generates a typed client with the installed package's command", async () => {
    const dir = apps.get('client-esm')!.dir;
    await run(
      'npx',
      ['idempotency-tokens-client', 'generate', join(ROOT, 'openapi.json'), '--out', 'api'],
      dir,
    );
    expect(readdirSync(join(dir, 'api')).sort()).toEqual([
      'index.ts',
      'operations.ts',
      'schema.d.ts',
    ]);
  });

  it.each(NEST_APPS)('%s closes within a second on SIGTERM and exits by itself', async (name) => {
    const { running } = apps.get(name)!;
    const exited = new Promise((resolve) => running!.child.once('exit', resolve));
    running!.child.kill('SIGTERM');
    await expect(exited).resolves.toBe(0);
    const closedIn = Number(/closed in ([0-9]+) ms/.exec(running!.output())?.[1]);
    expect(closedIn).toBeLessThan(1000);
  });
});
