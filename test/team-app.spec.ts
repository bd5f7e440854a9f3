import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { issueToken } from '@idempotency-tokens/nestjs/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import { runs, TeamAppModule } from './fixtures/team-app.module.js';
import { ADAPTERS, sleep } from './support/app-harness.js';
import { type RedisServerHandle, startRedis } from './support/redis-harness.js';

const CONSUMED = 'idempotency-token-consumed';
const REPLAYED = 'idempotent-replayed';

/**
 * The module in an ordinary team's app (test/fixtures/team-app.module.ts): the team's guard on
 * its controllers and on the token endpoint, its own global exception filter, a class-level
 * `@Idempotent()`, and Redis given as a URL. Real Redis, both adapters.
 */
describe.each(ADAPTERS)('a team app on %s', (adapter) => {
  let server: RedisServerHandle;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    server = await startRedis();
    app = await NestFactory.create(
      TeamAppModule.forRoot(server.url),
      adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
      {
        logger: false,
      },
    );
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const as = (user: string) => ({ Authorization: `Bearer ${user}` });
  const fetchToken = async (user: string) => {
    const response = await request(url).get('/tokens?scope=accounts').set(as(user));
    expect(response.status).toBe(200);
    return response.body.token as string;
  };
  const send = (method: 'post' | 'delete' | 'get', path: string, user: string, token?: string) => {
    const call = request(url)[method](path).set(as(user));
    return token ? call.set('Idempotency-Token', token) : call;
  };

  it("issues tokens behind the app's guard, bound to its user, and they work on its guarded handlers", async () => {
    expect((await request(url).get('/tokens?scope=accounts')).status).toBe(401);
    const token = await fetchToken('alice');
    const opened = await send('post', '/accounts', 'alice', token);
    expect(opened.status).toBe(201);
    expect(opened.headers[CONSUMED]).toBe('true');
    const bob = await send('post', '/accounts', 'bob', await fetchToken('alice'));
    expect(bob.status).toBe(400);
    expect(bob.body.code).toBe('TOKEN_UNKNOWN');
    expect(bob.body.detail).not.toMatch(/anonymous|authenticated/);
  });

  it('says so when an anonymous token meets an authenticated request', async () => {
    const anonymous = await issueToken(app, { scope: 'accounts' });
    const response = await send('post', '/accounts', 'alice', anonymous);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'TOKEN_UNKNOWN' });
    expect(response.body.detail).toMatch(
      /issued to an anonymous caller, and this request is authenticated/,
    );
    expect(response.headers[CONSUMED]).toBeUndefined();
  });

  it("lets the app's filter render its own errors, and replays exactly that answer", async () => {
    const unauthenticated = await request(url).post('/accounts');
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.body).toEqual({ error: { status: 401, message: 'Unauthorized' } });

    const token = await fetchToken('alice');
    const before = runs.overdraw ?? 0;
    const first = await send('post', '/accounts/overdraw', 'alice', token);
    expect(first.status).toBe(402);
    expect(first.body).toEqual({ error: { status: 402, message: 'insufficient funds' } });
    await sleep(50);
    const copy = await send('post', '/accounts/overdraw', 'alice', token);
    expect(copy.status).toBe(402);
    expect(copy.text).toBe(first.text);
    expect(copy.headers['content-type']).toBe(first.headers['content-type']);
    expect(copy.headers[REPLAYED]).toBe('true');
    expect(runs.overdraw - before).toBe(1);
  });

  it("keeps the module's own refusals as problem details", async () => {
    const missing = await send('post', '/accounts', 'alice');
    expect(missing.status).toBe(400);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(missing.body.code).toBe('TOKEN_MISSING');
  });

  it('covers POST and DELETE of an @Idempotent() controller, leaves GET and @SkipIdempotency() alone', async () => {
    expect((await send('get', '/accounts/7', 'alice')).status).toBe(200);
    expect((await send('post', '/accounts/preview', 'alice')).status).toBe(201);
    expect((await send('delete', '/accounts/7', 'alice')).body.code).toBe('TOKEN_MISSING');
    expect((await send('delete', '/accounts/7', 'alice', await fetchToken('alice'))).status).toBe(
      200,
    );
  });

  it("replays the handler's listed headers, and no others", async () => {
    const token = await fetchToken('alice');
    const first = await send('post', '/accounts/statement', 'alice', token);
    expect(first.headers['x-statement-version']).toMatch(/^v[0-9]+$/);
    expect(first.headers['x-debug']).toMatch(/^run [0-9]+$/);
    await sleep(50);
    const copy = await send('post', '/accounts/statement', 'alice', token);
    expect(copy.headers[REPLAYED]).toBe('true');
    expect(copy.body).toEqual(first.body);
    expect(copy.headers['x-statement-version']).toBe(first.headers['x-statement-version']);
    expect(copy.headers['x-debug']).toBeUndefined();
  });

  it('replays what a @Res() handler sent', async () => {
    const token = await fetchToken('alice');
    const first = await send('post', '/accounts/raw', 'alice', token);
    expect(first.status).toBe(202);
    await sleep(50);
    const copy = await send('post', '/accounts/raw', 'alice', token);
    expect(copy.status).toBe(202);
    expect(copy.text).toBe(first.text);
    expect(copy.headers[REPLAYED]).toBe('true');
  });
});

describe('the Redis client the module made from a URL', () => {
  it('is closed by app.close(), which returns within a second', async () => {
    const server = await startRedis();
    const app = await NestFactory.create(TeamAppModule.forRoot(server.url), { logger: false });
    await app.listen(0, '127.0.0.1');
    const observer = new Redis(server.url);
    const clients = async () =>
      String(await observer.client('LIST'))
        .split('\n')
        .filter(Boolean).length;
    expect(await clients()).toBe(2);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await sleep(100);
    expect(await clients()).toBe(1);
    await observer.quit();
    await server.stop();
  });
});
