import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Post, SetMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IdempotencyTestingModule } from '../testing/index.js';
import { idempotencyOf } from './idempotent-route.js';
import { Idempotent } from './idempotent.decorator.js';
import { SkipIdempotency } from './skip-idempotency.decorator.js';

@Controller('a')
@Idempotent({ scope: 'a' })
class CoveredController {
  @Get() read() {}
  @Post() write() {}
  @Post('free') @SkipIdempotency() free() {}
  @Get('own') @Idempotent({ replay: false }) ownGet() {}
}

/** What a GraphQL resolver or a WebSocket gateway is to Nest: a provider. */
@Injectable()
class OrdersResolver {
  @Idempotent() createOrder() {}
}

@Controller()
class MessagesController {
  @SetMetadata('microservices:pattern', ['orders.create']) // what @MessagePattern() writes
  @Idempotent()
  onOrder() {}
}

const start = async (providers: (new () => object)[], controllers: (new () => object)[] = []) => {
  const moduleRef = await Test.createTestingModule({
    imports: [IdempotencyTestingModule.forRoot()],
    providers,
    controllers,
  }).compile();
  const app = moduleRef.createNestApplication();
  try {
    await app.init();
  } finally {
    await app.close();
  }
};

describe('@Idempotent()', () => {
  it('on a controller covers unsafe methods only; a handler setting and @SkipIdempotency() win', () => {
    const proto = CoveredController.prototype;
    expect(idempotencyOf(proto.write, CoveredController)).toMatchObject({
      scope: 'a',
      replay: true,
    });
    expect(idempotencyOf(proto.read, CoveredController)).toBeUndefined();
    expect(idempotencyOf(proto.free, CoveredController)).toBeUndefined();
    expect(idempotencyOf(proto.ownGet, CoveredController)).toMatchObject({
      scope: undefined,
      replay: false,
    });
  });

  it.each([['Set-Cookie'], ['Connection'], ['transfer-encoding']])(
    'refuses to replay %s',
    (header) => {
      expect(() => Idempotent({ replayHeaders: ['content-type', header] })).toThrow(
        /cannot be replayed/,
      );
    },
  );

  it('stops the app at start when it is on a provider (a resolver, a gateway), naming it', async () => {
    await expect(start([OrdersResolver])).rejects.toThrow(
      /@Idempotent\(\) on OrdersResolver\.createOrder: the module guards HTTP route handlers only/,
    );
  });

  it('stops the app at start when it is on a message handler, naming it', async () => {
    await expect(start([], [MessagesController])).rejects.toThrow(/MessagesController\.onOrder/);
  });

  it('starts an app whose @Idempotent() handlers are all HTTP routes', async () => {
    await expect(start([], [CoveredController])).resolves.toBeUndefined();
  });
});
