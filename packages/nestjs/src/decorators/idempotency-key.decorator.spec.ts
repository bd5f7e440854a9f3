import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { IdempotencyTestingModule, issueToken } from '../testing/index.js';
import { IdempotencyKey } from './idempotency-key.decorator.js';
import { Idempotent } from './idempotent.decorator.js';

const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

@Controller('charges')
class ChargesController {
  @Post()
  @Idempotent({ keys: 'either' })
  charge(@IdempotencyKey() key: string) {
    return { providerKey: key };
  }
}

@Controller('unguarded')
class UnguardedController {
  @Get()
  read(@IdempotencyKey() key: string) {
    return { key };
  }
}

/** Two instances with the same secret and stores of their own (as if the first record were lost). */
describe('@IdempotencyKey()', () => {
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 2; i += 1) {
      const moduleRef = await Test.createTestingModule({
        imports: [IdempotencyTestingModule.forRoot()],
        controllers: [ChargesController],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      apps.push(app);
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  const charge = (app: INestApplication, header: string, value: string) =>
    request(app.getHttpServer()).post('/charges').set(header, value).send({});

  it('gives the handler a UUID derived from the token, never the token, the same on every copy', async () => {
    const token = await issueToken(apps[0]);
    const first = await charge(apps[0], 'Idempotency-Token', token);
    const copy = await charge(apps[0], 'Idempotency-Token', token);
    expect(first.body.providerKey).toMatch(UUID_V8);
    expect(copy.body.providerKey).toBe(first.body.providerKey);
    for (const part of token.split('.')) expect(first.body.providerKey).not.toContain(part);
    const other = await charge(apps[0], 'Idempotency-Token', await issueToken(apps[0]));
    expect(other.body.providerKey).not.toBe(first.body.providerKey);
  });

  it('derives the same key from the same client key on any instance, so the next system can refuse a second run', async () => {
    const [one, two] = await Promise.all(
      apps.map((app) => charge(app, 'Idempotency-Key', 'order-42-charge')),
    );
    expect(one.headers['idempotent-replayed']).toBeUndefined();
    expect(two.headers['idempotent-replayed']).toBeUndefined(); // its own store: it ran again
    expect(two.body.providerKey).toBe(one.body.providerKey);
    expect((await charge(apps[0], 'Idempotency-Key', 'order-43-charge')).body.providerKey).not.toBe(
      one.body.providerKey,
    );
  });

  it('stops an app at start whose handler takes it without @Idempotent()', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [IdempotencyTestingModule.forRoot()],
      controllers: [UnguardedController],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(/UnguardedController\.read takes @IdempotencyKey\(\)/);
    await app.close();
  });
});
