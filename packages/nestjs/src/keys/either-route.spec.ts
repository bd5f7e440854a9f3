import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, type INestApplication, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Idempotent } from '../decorators/idempotent.decorator.js';
import { IdempotencyTestingModule, issueToken } from '../testing/index.js';

let runs = 0;

@Controller('transfers')
class TransfersController {
  @Post()
  @Idempotent({ keys: 'either' })
  create(@Body() body: { amount: number }) {
    runs += 1;
    return { transfer: runs, ...body };
  }
}

/** `keys: 'either'` on Express, with the memory store: a token or a key, never both. */
describe("@Idempotent({ keys: 'either' })", () => {
  let app: INestApplication;
  const post = () => request(app.getHttpServer()).post('/transfers');

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [IdempotencyTestingModule.forRoot()],
      controllers: [TransfersController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('takes a token: consumed once, its copy replayed, no key header on the answers', async () => {
    const token = await issueToken(app);
    const first = await post().set('Idempotency-Token', token).send({ amount: 1 });
    const copy = await post().set('Idempotency-Token', token).send({ amount: 1 });
    expect([first.status, copy.status]).toEqual([201, 201]);
    expect(copy.body).toEqual(first.body);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotency-token-consumed']).toBe('true');
    expect(first.headers['idempotency-key-expires']).toBeUndefined();
  });

  it('takes a key: run once, its copy replayed, with the expiry and without the token header', async () => {
    const before = runs;
    const first = await post().set('Idempotency-Key', 'transfer-0001').send({ amount: 2 });
    const copy = await post().set('Idempotency-Key', '"transfer-0001"').send({ amount: 2 });
    expect(copy.body).toEqual(first.body);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotency-key-expires']).toBe('86400');
    expect(first.headers['idempotency-token-consumed']).toBeUndefined();
    expect(runs - before).toBe(1);
  });

  it('refuses both (IDEMPOTENCY_KEY_INVALID) and neither (TOKEN_MISSING), running nothing', async () => {
    const before = runs;
    const token = await issueToken(app);
    const both = await post()
      .set('Idempotency-Token', token)
      .set('Idempotency-Key', 'transfer-0002')
      .send({ amount: 3 });
    expect([both.status, both.body.code]).toEqual([400, 'IDEMPOTENCY_KEY_INVALID']);
    const neither = await post().send({ amount: 3 });
    expect([neither.status, neither.body.code]).toEqual([400, 'TOKEN_MISSING']);
    expect(runs).toBe(before);
    // Neither was used up by the refusal.
    expect((await post().set('Idempotency-Token', token).send({ amount: 3 })).status).toBe(201);
    expect((await post().set('Idempotency-Key', 'transfer-0002').send({ amount: 3 })).status).toBe(
      201,
    );
  });
});
