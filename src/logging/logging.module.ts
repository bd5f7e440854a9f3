import { type DynamicModule, Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DestinationStream } from 'pino';
import { type Options, pinoHttp } from 'pino-http';
import { idempotencyOutcomeOf } from '../idempotency/index.js';
import type { AppConfig } from '../config/app-config.js';

/** A token as the codec makes it; scrubbed from every log line, whatever carried it there. */
const TOKEN_PATTERN = /[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}/g;

/** What the route is called, set by `app.setup.ts` on Fastify; Express puts it on `req.route`. */
export const ROUTE_PATH = Symbol('logging:route');

interface LoggedRequest {
  method?: string;
  url?: string;
  route?: { path?: string };
  [ROUTE_PATH]?: string;
}

const routeOf = (req: LoggedRequest) => req[ROUTE_PATH] ?? req.route?.path;

/** pino-http options: one line per request, nothing secret in it. */
export function httpLoggerOptions(config: Pick<AppConfig, 'production' | 'logLevel'>): Options {
  const pretty = !config.production && config.logLevel !== 'silent';
  return {
    level: config.logLevel,
    transport: pretty ? { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,req,res' } } : undefined,
    // Headers are not logged at all (see the serializers); this is the second line of defence.
    redact: { paths: ['req.headers.authorization', 'req.headers["idempotency-token"]', 'req.headers.cookie'], censor: '[redacted]' },
    hooks: { streamWrite: (line) => line.replace(TOKEN_PATTERN, '[token]') },
    serializers: {
      req: (req: LoggedRequest) => ({ method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // Read when the answer is sent: the route and the outcome are known only then.
    customSuccessObject: (req, _res, fields) => ({ ...fields, route: routeOf(req as LoggedRequest), idempotency: idempotencyOutcomeOf(req) }),
    customErrorObject: (req, _res, _error, fields) => ({ ...fields, route: routeOf(req as LoggedRequest), idempotency: idempotencyOutcomeOf(req) }),
    customSuccessMessage: (req, res, ms) => `${req.method} ${routeOf(req as LoggedRequest) ?? req.url} ${res.statusCode} ${Math.round(ms)}ms`,
    customErrorMessage: (req, res) => `${req.method} ${routeOf(req as LoggedRequest) ?? req.url} ${res.statusCode} failed`,
  };
}

/**
 * Structured logs: JSON lines on stdout under NODE_ENV=production, readable lines otherwise;
 * one line per request with method, route, status, duration and idempotency outcome.
 *
 * nestjs-pino makes the app's logger. The request lines come from pino-http listening on the
 * HTTP server itself rather than from nestjs-pino's middleware, which never runs on Nest 12's
 * Fastify adapter; on the server, every request is seen, body-parser refusals and 404s included.
 */
const REQUEST_LOG_OPTIONS = Symbol('RequestLogOptions');

@Module({})
export class LoggingModule implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(REQUEST_LOG_OPTIONS) private readonly options: Options,
  ) {}

  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    const options = httpLoggerOptions(config);
    // nestjs-pino's middleware only binds req.log; the request line is logged on the server.
    const quiet = { ...options, autoLogging: false };
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: destination ? [{ ...quiet, transport: undefined }, destination] : quiet })],
      providers: [{ provide: REQUEST_LOG_OPTIONS, useValue: options }],
    };
  }

  onApplicationBootstrap(): void {
    const logRequest = pinoHttp({ ...this.options, logger: PinoLogger.root });
    this.adapterHost.httpAdapter.getHttpServer().on('request', (req: IncomingMessage, res: ServerResponse) => logRequest(req, res));
  }
}
