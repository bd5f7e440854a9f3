/**
 * The package alone: `@idempotency-tokens/nestjs` (packages/nestjs/dist) in the same plain
 * Nest 12 + Fastify app as the peer (scripts/bench/peer/server.mjs), set up as its README's quick
 * start says, protecting the same `POST /orders` with the same DTO, `ValidationPipe` and 201
 * answer. Beside the service it tells what the module costs from what the service adds (its
 * security headers, request log line, the demo's validation pipe and 415/405/431 hooks);
 * beside the peer it is package against package. prom-client is installed here, so the
 * module's metrics are on, as in an app that has it.
 *
 * Plain JavaScript so that it needs no build: Nest's decorators are applied as functions.
 * Usage (run.mjs starts it): PORT=… REDIS_URL=… TOKEN_SECRET=… node scripts/bench/module-server.mjs
 */
import 'reflect-metadata';
import * as nest from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import * as validators from 'class-validator';
import { Idempotent, IdempotencyModule } from '../../packages/nestjs/dist/index.js';
import { decorate, healthController, ordersController } from './lib/plain-nest.mjs';
import { SCOPE } from './lib/settings.mjs';

/** The service's limits from the bench environment (never refusing), its TTLs. */
const limit = (name) => Number(process.env[name]);
class ModuleApp {}
decorate(
  [
    nest.Module({
      imports: [
        IdempotencyModule.forRoot({
          secret: process.env.TOKEN_SECRET,
          redis: process.env.REDIS_URL,
          tokenTtlSeconds: limit('TOKEN_TTL_SECONDS'),
          resultTtlSeconds: limit('IDEMPOTENCY_RESULT_TTL_SECONDS'),
          inProgressTtlSeconds: limit('IDEMPOTENCY_IN_PROGRESS_TTL_SECONDS'),
          limits: {
            rateLimit: limit('TOKEN_RATE_LIMIT'),
            rateWindowSeconds: limit('TOKEN_RATE_WINDOW_SECONDS'),
            maxOutstanding: limit('TOKEN_MAX_OUTSTANDING'),
          },
        }),
      ],
      controllers: [
        ordersController(nest, validators, Idempotent({ scope: SCOPE })),
        healthController(nest),
      ],
    }),
  ],
  ModuleApp,
);

const app = await NestFactory.create(ModuleApp, new FastifyAdapter(), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3300), '127.0.0.1');
