/**
 * The peer a Nest team would pick instead: `@node-idempotency/nestjs` 1.0.4 with its Redis
 * storage, set up as its README says, on Nest 12 + Fastify, protecting the same `POST /orders`
 * as the service (same body, same validation, same 201 answer with `Location`). Clients choose
 * the key (`Idempotency-Key`): no token endpoint, no signature, no caller binding, no limiter.
 *
 * Plain JavaScript so that it needs no build: Nest's decorators are applied as functions.
 * Usage: (cd scripts/bench/peer && npm run setup) then PORT=… REDIS_URL=… node server.mjs
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Module, Post, Res, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Idempotent, NodeIdempotencyModule } from '@node-idempotency/nestjs';
import { IsInt, IsString, Length, Max, Min } from 'class-validator';

/** What TypeScript emits for `@A() @B() member`: methods get their descriptor back, properties none. */
const decorate = (decorators, target, key) => {
  const descriptor = key && Object.getOwnPropertyDescriptor(target, key);
  const result = Reflect.decorate(decorators, target, key, descriptor);
  if (descriptor) Object.defineProperty(target, key, result);
  return result;
};

/** The service's CreateOrderDto: item 1..100 characters, quantity 1..1000. */
class CreateOrderDto {}
decorate([IsString(), Length(1, 100)], CreateOrderDto.prototype, 'item');
decorate([IsInt(), Min(1), Max(1000)], CreateOrderDto.prototype, 'quantity');

class OrdersController {
  create(order, reply) {
    const created = {
      id: randomUUID(),
      item: order.item,
      quantity: order.quantity,
      createdAt: new Date().toISOString(),
    };
    reply.header('Location', `/orders/${created.id}`);
    return created;
  }
}
Reflect.defineMetadata(
  'design:paramtypes',
  [CreateOrderDto, Object],
  OrdersController.prototype,
  'create',
);
Body(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }))(
  OrdersController.prototype,
  'create',
  0,
);
Res({ passthrough: true })(OrdersController.prototype, 'create', 1);
decorate([Post(), HttpCode(201), Idempotent()], OrdersController.prototype, 'create');
decorate([Controller('orders')], OrdersController);

class HealthController {
  health() {
    return { status: 'ok' };
  }
}
decorate([Get()], HealthController.prototype, 'health');
decorate([Controller('health')], HealthController);

class PeerModule {}
decorate(
  [
    Module({
      imports: [
        NodeIdempotencyModule.forRootAsync({
          storage: { adapter: 'redis', options: { url: process.env.REDIS_URL } },
          cacheTTLMS: 86_400_000,
        }),
      ],
      controllers: [OrdersController, HealthController],
    }),
  ],
  PeerModule,
);

const app = await NestFactory.create(PeerModule, new FastifyAdapter(), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
