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
import * as nest from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Idempotent, NodeIdempotencyModule } from '@node-idempotency/nestjs';
import * as validators from 'class-validator';
import { decorate, healthController, ordersController } from '../lib/plain-nest.mjs';

class PeerModule {}
decorate(
  [
    nest.Module({
      imports: [
        NodeIdempotencyModule.forRootAsync({
          storage: { adapter: 'redis', options: { url: process.env.REDIS_URL } },
          cacheTTLMS: 86_400_000,
        }),
      ],
      controllers: [ordersController(nest, validators, Idempotent()), healthController(nest)],
    }),
  ],
  PeerModule,
);

const app = await NestFactory.create(PeerModule, new FastifyAdapter(), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
