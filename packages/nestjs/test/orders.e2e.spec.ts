import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, type INestApplication, Module, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Idempotent } from '@idempotency-tokens/nestjs';
import { IdempotencyTestingModule, issueToken } from '@idempotency-tokens/nestjs/testing';
import request from 'supertest';

// The app under test: one handler that must not run twice.
@Controller('orders')
class OrdersController {
  created = 0;

  @Post()
  @Idempotent({ scope: 'orders.create' })
  create(@Body() body: { item: string }) {
    return { id: ++this.created, item: body.item };
  }
}

@Module({ controllers: [OrdersController] })
class OrdersModule {}

describe('POST /orders', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      // The memory store: no Redis in unit and e2e tests.
      imports: [OrdersModule, IdempotencyTestingModule.forRoot()],
    }).compile();
    app = await moduleRef.createNestApplication().init();
  });
  afterAll(() => app.close());

  it('runs once for a double submit, and replays the answer', async () => {
    // A real token in the app's store, as GET /tokens would give this caller. This app has no
    // authentication; behind yours, pass the user id it sets: { subject: 'alice', scope }.
    const token = await issueToken(app, { scope: 'orders.create' });
    const send = () =>
      request(app.getHttpServer())
        .post('/orders')
        .set('Idempotency-Token', token)
        .send({ item: 'book' });

    const first = await send();
    expect(first.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the outcome is written just after the answer
    const copy = await send();
    expect(copy.status).toBe(201);
    expect(copy.headers['idempotent-replayed']).toBe('true');
    expect(copy.body).toEqual(first.body);
    expect(app.get(OrdersController).created).toBe(1);
  });

  it('refuses a request without a token, before the handler runs', async () => {
    const response = await request(app.getHttpServer()).post('/orders').send({ item: 'book' });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('TOKEN_MISSING');
  });
});
