import type {
  DynamicModule,
  INestApplication,
  LoggerService,
  LogLevel,
  Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ProblemDetailsFilter } from '@idempotency-tokens/nestjs';
import { capConnectionsPerAddress } from './http/connection-cap.js';
import { closeConnectionsOnShutdown } from './http/graceful-close.js';
import {
  answerClientError,
  answerFrameworkError,
  answerTooManyHeaders,
  answerWrongMethods,
} from './http/http-errors.js';
import { useSecurityHeaders } from './http/security-headers.js';
import { ROUTE_PATH } from './logging/request-logger.js';
import { setupOpenApi } from './openapi.js';

/** the contract's body limit; both adapters must refuse a larger body before any guard runs. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

export type AdapterKind = 'fastify' | 'express';

/** What a slow or greedy client may hold (docs/CONTRACT.md, slow clients). */
export interface HttpLimits {
  /** The request's headers must have arrived this long after its first byte. */
  headersTimeoutMs: number;
  /** The whole request must have arrived this long after its first byte. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long (under 75 s, so proxies close first). */
  keepAliveTimeoutMs: number;
  /** Open connections per client address; 0: no cap. */
  maxConnectionsPerAddress: number;
}

export const CONTRACT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnectionsPerAddress: 256,
};

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
    // Fastify takes a hop count at run time (lib/request.js) though its types omit it.
    const fastify = new FastifyAdapter({
      bodyLimit: BODY_LIMIT_BYTES,
      trustProxy: trustProxy as boolean | string[],
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two time-outs every 30 s by default: a 10 s bound could take 40 s.
      http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
      clientErrorHandler: answerClientError,
      frameworkErrors: answerFrameworkError,
      // A request arriving during the drain is served and its connection closed, not refused.
      return503OnClosing: false,
    });
    // First: every hook added after it, including Nest's middleware, answers with its headers.
    await useSecurityHeaders(fastify);
    capConnectionsPerAddress(fastify.getHttpServer(), limits.maxConnectionsPerAddress);
    answerTooManyHeaders(fastify.getInstance());
    answerWrongMethods(fastify.getInstance());
    closeConnectionsOnShutdown(fastify.getInstance());
    // The request log names the route; Fastify knows it from onRequest on, on its own request object.
    fastify.getInstance().addHook('onRequest', (request, _reply, done) => {
      (request.raw as { [ROUTE_PATH]?: string })[ROUTE_PATH] = request.routeOptions.url;
      done();
    });
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
