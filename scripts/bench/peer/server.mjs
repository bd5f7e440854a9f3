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
import { Body, Controller, Get, HttpCode, Module, Post, Res, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Idempotent, NodeIdempotencyModule } from '@node-idempotency/nestjs';
import * as validators from 'class-validator';
import {
  createOrderDto,
  decorate,
  healthController,
  placeOrder,
  route,
} from '../lib/plain-nest.mjs';

class OrdersController {
  create(order, reply) {
    return placeOrder(order, reply);
  }
}
route(
  OrdersController,
  'create',
  [
    {
      type: createOrderDto(validators),
      decorator: Body(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true })),
    },
    { decorator: Res({ passthrough: true }) },
  ],
  [Post(), HttpCode(201), Idempotent()],
);
decorate([Controller('orders')], OrdersController);

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
      controllers: [OrdersController, healthController({ Controller, Get })],
    }),
  ],
  PeerModule,
);

const app = await NestFactory.create(PeerModule, new FastifyAdapter(), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
