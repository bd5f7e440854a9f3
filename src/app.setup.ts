import type {
  DynamicModule,
  INestApplication,
  LoggerService,
  LogLevel,
  Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { ProblemDetailsFilter } from '@idempotency-tokens/nestjs';
import {
  CONTRACT_HTTP_LIMITS,
  createFastifyAdapter,
  type HttpLimits,
} from './http/fastify-adapter.js';
import { setupOpenApi } from './openapi.js';

/** the contract's body limit; both adapters must refuse a larger body before any guard runs. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type AdapterKind = 'fastify' | 'express';

export interface CreateAppOptions {
  /** Fastify is the service's adapter; Express is supported for apps that import the module. */
  adapter?: AdapterKind;
  /** What Fastify's `trustProxy` takes; `false`: clients are known by their socket address. */
  trustProxy?: boolean | number | string[];
  logger?: LoggerService | LogLevel[] | false;
  /** Hold start-up logs until the app's own logger is set (`app.useLogger`). */
  bufferLogs?: boolean;
  /** Fastify only; the contract's values by default. */
  http?: Partial<HttpLimits>;
}

/**
 * Makes a configured app on either adapter: `main.ts`, the tests and `scripts/` all start the
 * app here, so none of them sets it up differently.
 */
export async function createApp(
  rootModule: Type | DynamicModule,
  options: CreateAppOptions = {},
): Promise<INestApplication> {
  const { adapter = 'fastify', trustProxy = false, logger, bufferLogs } = options;
  const limits = { ...CONTRACT_HTTP_LIMITS, ...options.http };
  const loggerOption = { bufferLogs, ...(logger === undefined ? {} : { logger }) };
  let app: INestApplication;
  if (adapter === 'fastify') {
    const fastify = createFastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, trustProxy, limits });
    app = await NestFactory.create(rootModule, fastify, loggerOption);
  } else {
    // Express' own JSON parser defaults to 100 KiB: replace it with one at the same limit as Fastify's.
    const express = await NestFactory.create<NestExpressApplication>(
      rootModule,
      new ExpressAdapter(),
      { ...loggerOption, bodyParser: false },
    );
    express.useBodyParser('json', { limit: BODY_LIMIT_BYTES, strict: false }); // any JSON value, as Fastify
    express.set('trust proxy', trustProxy);
    app = express;
  }
  configureApp(app);
  return app;
}

/**
 * Everything an app needs beyond its modules: problem details for every error, and the docs.
 * Signals are `main.ts`'s business: it must exit 0 after a graceful SIGTERM.
 */
export function configureApp(app: INestApplication): void {
  app.useGlobalFilters(app.get(ProblemDetailsFilter));
  setupOpenApi(app);
}
