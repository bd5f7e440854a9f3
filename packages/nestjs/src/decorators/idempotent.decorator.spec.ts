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

const MESSAGE_PATTERN = SetMetadata('microservices:pattern', ['orders.create']); // what @MessagePattern() writes

@Controller()
class MessagesController {
  @MESSAGE_PATTERN
  @Idempotent()
  onOrder() {}
}

@Controller()
class KeyedMessagesController {
  @MESSAGE_PATTERN
  @Idempotent({ key: (order: { id: string }) => order.id })
  onOrder() {}
}

@Controller('keyed')
class KeyedRouteController {
  @Post()
  @Idempotent({ key: (order: { id: string }) => order.id })
  create() {}
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
      /OrdersResolver\.createOrder is on a provider/,
    );
  });

  it('stops the app at start when it is on a message handler without a key, naming it', async () => {
    await expect(start([], [MessagesController])).rejects.toThrow(
      /MessagesController\.onOrder is a message handler without a `key`/,
    );
  });

  it('stops the app at start when an HTTP route has a message key, naming it', async () => {
    await expect(start([], [KeyedRouteController])).rejects.toThrow(
      /KeyedRouteController\.create is an HTTP route with a message `key`/,
    );
  });

  it('starts an app with a keyed message handler; refuses malformed message options when decorating', async () => {
    await expect(start([], [KeyedMessagesController])).resolves.toBeUndefined();
    const key = () => 'id';
    expect(() => Idempotent({ key, leaseSeconds: 0 })).toThrow(
      /leaseSeconds must be a whole number/,
    );
    expect(() => Idempotent({ key, keepSeconds: 1.5 })).toThrow(
      /keepSeconds must be a whole number/,
    );
    expect(() => Idempotent({ key, scope: 'a b' })).toThrow(/scope "a b" must match/);
    expect(() => Idempotent({ key, afterCrash: 'never' as 'skip' })).toThrow(/afterCrash must be/);
    expect(() => Idempotent({ key: 'id' as unknown as () => string })).toThrow(
      /key must be a function/,
    );
  });

  it('starts an app whose @Idempotent() handlers are all HTTP routes', async () => {
    await expect(start([], [CoveredController])).resolves.toBeUndefined();
  });
});
