/**
 * The floor: the least a Nest 12 + Fastify app can do for the benchmark's requests, on the same
 * packages as the service (the root node_modules). One Redis round trip per request and nothing
 * else: no signature, no caller binding, no limiter, no fingerprint, no outcome write (the
 * orchestrator stores the replayed answer itself), no log line, no metrics. What the service
 * costs above this is what its own work costs; what this costs is Nest, Fastify, class-validator.
 *
 *   GET /tokens?scope=…  a random token, SET bench:t:<token> 1 EX 900 NX, 200 {token, scope, expiresIn}
 *   POST /orders         Idempotency-Token header, the service's DTO and ValidationPipe, then one
 *                        script: a stored answer for the token (bench:o:<token>) is replayed, else
 *                        the token is deleted: 1 places the order (201), 0 is 400 TOKEN_INVALID
 *   GET /health          200
 *
 * Plain JavaScript so that it needs no build: Nest's decorators are applied as functions.
 * Usage (run.mjs starts it): PORT=… REDIS_URL=… node scripts/bench/bare-server.mjs
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  Headers,
  HttpCode,
  InternalServerErrorException,
  Module,
  Post,
  Query,
  Res,
  ValidationPipe,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import * as validators from 'class-validator';
import { Redis } from 'ioredis';
import {
  createOrderDto,
  decorate,
  healthController,
  placeOrder,
  route,
} from './lib/plain-nest.mjs';

const TTL_SECONDS = 900;
const tokenKey = (token) => `bench:t:${token}`;
const answerKey = (token) => `bench:o:${token}`;

const redis = new Redis(process.env.REDIS_URL);
redis.on('error', (error) => console.error(`Redis: ${error.message}`));
/** EVALSHA, defined once: a stored answer (a replay), else DEL of the token (1: first use, 0: unknown). */
redis.defineCommand('consumeOrReplay', {
  numberOfKeys: 2,
  lua: `local answer = redis.call('GET', KEYS[2]) if answer then return answer end return redis.call('DEL', KEYS[1])`,
});

class TokensController {
  async issue(scope) {
    const token = randomBytes(32).toString('base64url');
    // NX: a colliding token would be someone else's; with 256 random bits it never happens.
    if ((await redis.set(tokenKey(token), '1', 'EX', TTL_SECONDS, 'NX')) !== 'OK')
      throw new InternalServerErrorException();
    return { token, scope, expiresIn: TTL_SECONDS };
  }
}
route(
  TokensController,
  'issue',
  [{ type: String, decorator: Query('scope') }],
  [Get(), Header('Cache-Control', 'no-store')],
);
decorate([Controller('tokens')], TokensController);

class OrdersController {
  async create(token, order, reply) {
    if (!token) throw new BadRequestException({ code: 'TOKEN_MISSING' });
    const answer = await redis.consumeOrReplay(tokenKey(token), answerKey(token));
    if (answer === 1) return placeOrder(order, reply);
    if (answer === 0) throw new BadRequestException({ code: 'TOKEN_INVALID' });
    // The stored answer as it is: a string sent with a JSON type is not serialized again.
    reply.header('Content-Type', 'application/json; charset=utf-8');
    reply.header('Idempotent-Replayed', 'true');
    return answer;
  }
}
route(
  OrdersController,
  'create',
  [
    { type: String, decorator: Headers('idempotency-token') },
    {
      type: createOrderDto(validators),
      decorator: Body(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true })),
    },
    { decorator: Res({ passthrough: true }) },
  ],
  [Post(), HttpCode(201)],
);
decorate([Controller('orders')], OrdersController);

class BareModule {}
decorate(
  [
    Module({
      controllers: [TokensController, OrdersController, healthController({ Controller, Get })],
    }),
  ],
  BareModule,
);

const app = await NestFactory.create(BareModule, new FastifyAdapter(), { logger: ['error'] });
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3200), '127.0.0.1');
